namespace InseqNative;

/// <summary>
/// Small host-side tensor operations used by aggregation and outputs ([tokens × steps × extra] matrices, never
/// model-sized). Every operation returns a new tensor; inputs are never modified.
/// </summary>
public static class TensorOps
{
    public static Tensor Clone(this Tensor t) => new((float[])t.Data.Clone(), (int[])t.Shape.Clone());

    /// <summary>Resolves a possibly negative axis against the rank.</summary>
    public static int Axis(this Tensor t, int dim)
    {
        int axis = dim < 0 ? t.Rank + dim : dim;
        if ((uint)axis >= (uint)t.Rank)
            throw new InvalidInputException($"dimension {dim} is out of range for a tensor of shape {ShapeText(t.Shape)}");
        return axis;
    }

    public static string ShapeText(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>(outer, size, inner) of an axis: element (o, i, n) lives at (o·size + i)·inner + n.</summary>
    static (int Outer, int Size, int Inner) Split(Tensor t, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= t.Shape[i];
        for (int i = axis + 1; i < t.Rank; i++) inner *= t.Shape[i];
        return (outer, t.Shape[axis], inner);
    }

    /// <summary>Reduces one axis with <paramref name="reduce"/>, which receives the values along it (in order).</summary>
    public static Tensor Reduce(this Tensor t, int dim, Func<ReadOnlySpan<float>, float> reduce)
    {
        int axis = t.Axis(dim);
        var (outer, size, inner) = Split(t, axis);
        var shape = t.Shape.Where((_, i) => i != axis).ToArray();
        var result = new float[(long)outer * inner];
        var buffer = new float[size];
        for (int o = 0; o < outer; o++)
            for (int n = 0; n < inner; n++)
            {
                long baseOffset = (long)o * size * inner + n;
                if (inner == 1)
                {
                    result[o] = reduce(t.Data.AsSpan((int)baseOffset, size));
                    continue;
                }
                for (int i = 0; i < size; i++)
                    buffer[i] = t.Data[baseOffset + (long)i * inner];
                result[(long)o * inner + n] = reduce(buffer);
            }
        return new Tensor(result, shape);
    }

    /// <summary>Keeps the given indices of one axis, in the given order (torch.index_select).</summary>
    public static Tensor Select(this Tensor t, int dim, IReadOnlyList<int> indices)
    {
        int axis = t.Axis(dim);
        var (outer, size, inner) = Split(t, axis);
        foreach (int index in indices)
            if ((uint)index >= (uint)size)
                throw new InvalidInputException(
                    $"index {index} is out of range for dimension {dim} of size {size} (shape {ShapeText(t.Shape)})");
        var shape = (int[])t.Shape.Clone();
        shape[axis] = indices.Count;
        var result = new float[(long)outer * indices.Count * inner];
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < indices.Count; k++)
                Array.Copy(t.Data, ((long)o * size + indices[k]) * inner, result, ((long)o * indices.Count + k) * inner,
                    inner);
        return new Tensor(result, shape);
    }

    /// <summary>Elements start..end−1 of one axis.</summary>
    public static Tensor Narrow(this Tensor t, int dim, int start, int end)
    {
        int axis = t.Axis(dim);
        if (start < 0 || end > t.Shape[axis] || start > end)
            throw new InvalidInputException(
                $"range [{start}, {end}) is out of bounds for dimension {dim} of size {t.Shape[axis]}");
        return t.Select(axis, Enumerable.Range(start, end - start).ToArray());
    }

    /// <summary>Removes one axis by taking a single index along it (torch.select).</summary>
    public static Tensor Pick(this Tensor t, int dim, int index)
    {
        int axis = t.Axis(dim);
        var picked = t.Select(axis, [index]);
        return new Tensor(picked.Data, t.Shape.Where((_, i) => i != axis).ToArray());
    }

    /// <summary>Concatenates tensors along one axis; all other dimensions must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int dim)
    {
        if (parts.Count == 0) throw new InvalidInputException("nothing to concatenate");
        var first = parts[0];
        int axis = first.Axis(dim);
        foreach (var p in parts)
            if (p.Rank != first.Rank || Enumerable.Range(0, first.Rank).Any(i => i != axis && p.Shape[i] != first.Shape[i]))
                throw new InvalidInputException(
                    $"cannot concatenate shapes {ShapeText(first.Shape)} and {ShapeText(p.Shape)} along dimension {dim}");
        var shape = (int[])first.Shape.Clone();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        var (outer, _, inner) = Split(first, axis);
        var result = new float[parts.Sum(p => p.Length)];
        long offset = 0;
        for (int o = 0; o < outer; o++)
            foreach (var p in parts)
            {
                long block = (long)p.Shape[axis] * inner;
                Array.Copy(p.Data, o * block, result, offset, block);
                offset += block;
            }
        return new Tensor(result, shape);
    }

    /// <summary>Element-wise combination of two tensors of the same shape.</summary>
    public static Tensor Zip(this Tensor a, Tensor b, Func<float, float, float> f)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new InvalidInputException($"shapes {ShapeText(a.Shape)} and {ShapeText(b.Shape)} differ");
        var result = new float[a.Length];
        for (long i = 0; i < result.LongLength; i++) result[i] = f(a.Data[i], b.Data[i]);
        return new Tensor(result, (int[])a.Shape.Clone());
    }

    public static Tensor Map(this Tensor t, Func<float, float> f)
    {
        var result = new float[t.Length];
        for (long i = 0; i < result.LongLength; i++) result[i] = f(t.Data[i]);
        return new Tensor(result, (int[])t.Shape.Clone());
    }

    /// <summary>Smallest and largest non-NaN values ((0, 0) when all are NaN).</summary>
    public static (float Min, float Max) NanRange(this Tensor t)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in t.Data)
        {
            if (float.IsNaN(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return min > max ? (0, 0) : (min, max);
    }
}
