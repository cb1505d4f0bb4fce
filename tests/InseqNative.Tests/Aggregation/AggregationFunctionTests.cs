using InseqNative.Aggregation;

namespace InseqNative.Tests.Aggregation;

public sealed class AggregationFunctionTests
{
    // [[1, -2, 2], [3, 4, -0.5]]
    static readonly Tensor M = new([1, -2, 2, 3, 4, -0.5f], 2, 3);

    [Theory]
    [InlineData("mean", new float[] { 1f / 3, 6.5f / 3 }, new float[] { 2, 1, 0.75f })]
    [InlineData("sum", new float[] { 1, 6.5f }, new float[] { 4, 2, 1.5f })]
    [InlineData("prod", new float[] { -4, -6 }, new float[] { 3, -8, -1 })]
    [InlineData("max", new float[] { 2, 4 }, new float[] { 3, 4, 2 })]
    [InlineData("min", new float[] { -2, -0.5f }, new float[] { 1, -2, -0.5f })]
    [InlineData("absmax", new float[] { -2, 4 }, new float[] { 3, 4, 2 })]
    [InlineData("vnorm", new float[] { 3, 5.0249378f }, new float[] { 3.1622777f, 4.472136f, 2.0615528f })]
    public void ReducesEitherDimension(string name, float[] lastDim, float[] firstDim)
    {
        var f = AggregationFunction.Get(name);
        Assert.Equal(name, f.Name);
        var byRow = f.Apply(M, -1);
        Assert.Equal([2], byRow.Shape);
        for (int i = 0; i < lastDim.Length; i++) Assert.Equal(lastDim[i], byRow.Data[i], 5);
        var byColumn = f.Apply(M, 0);
        Assert.Equal([3], byColumn.Shape);
        for (int i = 0; i < firstDim.Length; i++) Assert.Equal(firstDim[i], byColumn.Data[i], 5);
    }

    [Fact]
    public void NaNPropagatesLikeTorch()
    {
        float[] values = [1, float.NaN, -3];
        foreach (var f in AggregationFunction.All)
            Assert.True(float.IsNaN(f.Reduce(values)), f.Name);
    }

    [Fact]
    public void AbsMaxKeepsSignAndFirstOnTies() => Assert.Equal(-0.7f, AggregationFunction.AbsMax.Reduce([0.3f, -0.7f, 0.7f, 0.1f]));

    [Fact]
    public void VectorNormOrders()
    {
        Assert.Equal(7, new VectorNormFunction(1).Reduce([3, -4]), 5);
        Assert.Equal(4, new VectorNormFunction(double.PositiveInfinity).Reduce([3, -4]));
        Assert.Equal(1, new VectorNormFunction(0).Reduce([0, -4]));
    }

    [Fact]
    public void ReducesMiddleDimensionOfRank3()
    {
        // [2, 2, 2]: reduce dim 1
        var t = new Tensor([1, 2, 3, 4, 5, 6, 7, 8], 2, 2, 2);
        var r = AggregationFunction.Sum.Apply(t, 1);
        Assert.Equal([2, 2], r.Shape);
        Assert.Equal([4, 6, 12, 14], r.Data);
    }

    [Fact]
    public void UnknownNameListsKnownOnes()
    {
        var ex = Assert.Throws<InvalidInputException>(() => AggregationFunction.Get("median"));
        Assert.Contains("vnorm", ex.Message);
        Assert.Throws<InvalidInputException>(() => AggregationFunction.Mean.Apply(M, 2));
    }

    [Fact]
    public void NormalizationIgnoresNaNAndSpansSourceAndTarget()
    {
        var source = new Tensor([1, 2, 3, -2], 2, 2);
        var target = new Tensor([4, float.NaN, float.NaN, float.NaN], 2, 2);
        var (s, t) = ScoreNormalization.Normalize(source, target);
        // column 0: |1| + |3| + |4| = 8; column 1: |2| + |-2| = 4
        Assert.Equal([0.125f, 0.5f, 0.375f, -0.5f], s!.Data);
        Assert.Equal(0.5f, t!.Data[0]);
        Assert.True(t.Data.Skip(1).All(float.IsNaN));
        var (rs, _) = ScoreNormalization.Rescale(source, target);
        Assert.Equal([0.25f, 1, 0.75f, -1], rs!.Data);
    }
}
