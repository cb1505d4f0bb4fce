using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace InseqNative.Loading;

/// <summary>
/// A memory-mapped safetensors file. The header is parsed and validated when the file opens (every tensor's dtype,
/// shape and byte range, ranges inside the data section, no overlaps), so reads afterwards cannot run off the mapping.
/// F32 tensors are exposed without copying; F16 and BF16 tensors are widened exactly to float32 on read.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>safetensors' own limit; a larger value is a corrupt length field, not a real header.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private readonly List<string> _names;
    private byte* _base;

    public string FilePath { get; }
    public long FileLength { get; }
    /// <summary>Absolute offset of the first data byte (8 + header length).</summary>
    public long DataOffset { get; }
    /// <summary>The optional <c>__metadata__</c> string map (e.g. format = pt).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> TensorNames => _names;
    public IReadOnlyCollection<SafetensorsTensorInfo> Tensors => _tensors.Values;

    private SafetensorsFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr)
    {
        FilePath = path;
        FileLength = length;
        _map = map;
        _view = view;
        _base = basePtr;
        try
        {
            (DataOffset, _tensors, _names, Metadata) = ParseHeader(path, length, basePtr);
        }
        catch
        {
            ReleaseMapping();
            throw;
        }
    }

    public static SafetensorsFile Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        FileInfo info = new(full);
        if (!info.Exists)
            throw new MissingModelFileException(full, "safetensors file does not exist");
        long length = info.Length;
        if (length < 8)
            throw new MalformedCheckpointException(full,
                $"file is {length} bytes; a safetensors file needs at least 8 bytes for its header length (truncated?)");

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* ptr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
            ptr += view.PointerOffset;
            return new SafetensorsFile(full, length, map, view, ptr);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            map?.Dispose();
            throw new ModelLoadException(full, $"cannot memory-map the safetensors file: {e.Message}", e);
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public bool TryGetInfo(string name, out SafetensorsTensorInfo info) =>
        _tensors.TryGetValue(name, out info!);

    public SafetensorsTensorInfo GetInfo(string name)
    {
        if (_tensors.TryGetValue(name, out SafetensorsTensorInfo? info))
            return info;
        throw new ModelLoadException(FilePath, $"tensor '{name}' is not in this file ({_tensors.Count} tensors)");
    }

    /// <summary>The tensor's bytes, without copying. Valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetRawBytes(string name)
    {
        SafetensorsTensorInfo info = GetInfo(name);
        if (info.ByteLength > int.MaxValue)
            throw new ModelLoadException(FilePath,
                $"tensor '{name}' is {info.ByteLength} bytes, too large for a span; use {nameof(GetDataPointer)}");
        return new ReadOnlySpan<byte>(Base + info.FileOffset, (int)info.ByteLength);
    }

    /// <summary>Address of the tensor's first byte inside the mapping, for handing to native code without a copy.
    /// Valid until this file is disposed.</summary>
    public nint GetDataPointer(string name) => (nint)(Base + GetInfo(name).FileOffset);

    /// <summary>An F32 tensor's values, without copying. Valid until this file is disposed.</summary>
    public ReadOnlySpan<float> GetFloat32Span(string name)
    {
        SafetensorsTensorInfo info = GetInfo(name);
        if (info.DType != SafetensorsDType.F32)
            throw new UnsupportedModelException(FilePath,
                $"tensor '{name}' has dtype {info.DType.ToHeaderName()}; a zero-copy float32 view needs F32 (use ReadAsFloat32 to convert)");
        if (info.ElementCount > int.MaxValue)
            throw new ModelLoadException(FilePath,
                $"tensor '{name}' has {info.ElementCount} elements, too many for a span; use {nameof(GetDataPointer)}");
        return new ReadOnlySpan<float>(Base + info.FileOffset, (int)info.ElementCount);
    }

    public float[] ReadAsFloat32(string name)
    {
        SafetensorsTensorInfo info = GetInfo(name);
        ThrowIfNotFloatReadable(info);
        if (info.ElementCount > Array.MaxLength)
            throw new ModelLoadException(FilePath, $"tensor '{name}' has {info.ElementCount} elements, too many for one array");
        float[] result = GC.AllocateUninitializedArray<float>((int)info.ElementCount);
        ReadAsFloat32(name, result);
        return result;
    }

    /// <summary>Converts the tensor to float32 into <paramref name="destination"/>, which must hold exactly
    /// <see cref="SafetensorsTensorInfo.ElementCount"/> values.</summary>
    public void ReadAsFloat32(string name, Span<float> destination)
    {
        SafetensorsTensorInfo info = GetInfo(name);
        ThrowIfNotFloatReadable(info);
        if (destination.Length != info.ElementCount)
            throw new InvalidInputException(
                $"{FilePath}: tensor '{name}' has {info.ElementCount} elements but the destination holds {destination.Length}");
        byte* start = Base + info.FileOffset;
        int count = destination.Length;
        switch (info.DType)
        {
            case SafetensorsDType.F32:
                new ReadOnlySpan<float>(start, count).CopyTo(destination);
                break;
            case SafetensorsDType.F16:
                HalfConversion.HalfToSingle(new ReadOnlySpan<ushort>(start, count), destination);
                break;
            case SafetensorsDType.BF16:
                HalfConversion.BFloat16ToSingle(new ReadOnlySpan<ushort>(start, count), destination);
                break;
        }
    }

    private void ThrowIfNotFloatReadable(SafetensorsTensorInfo info)
    {
        if (!info.DType.IsFloatReadable())
            throw new UnsupportedModelException(FilePath,
                $"tensor '{info.Name}' has dtype {info.DType.ToHeaderName()}; supported: {SafetensorsDTypes.SupportedList}");
    }

    private byte* Base
    {
        get
        {
            ObjectDisposedException.ThrowIf(_base == null, this);
            return _base;
        }
    }

    public void Dispose()
    {
        ReleaseMapping();
    }

    private void ReleaseMapping()
    {
        if (_base != null)
        {
            _base = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view.Dispose();
        _map.Dispose();
    }

    private static (long DataOffset, Dictionary<string, SafetensorsTensorInfo> Tensors, List<string> Names,
        IReadOnlyDictionary<string, string> Metadata) ParseHeader(string path, long fileLength, byte* basePtr)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors reading assumes a little-endian host");

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePtr, 8));
        if (headerLength > (ulong)(fileLength - 8))
            throw new MalformedCheckpointException(path,
                $"header length {headerLength} runs past the end of the file ({fileLength} bytes, so at most {fileLength - 8} header bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw new MalformedCheckpointException(path,
                $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit of the safetensors format");
        if (headerLength < 2)
            throw new MalformedCheckpointException(path, $"header length {headerLength} is too small for a JSON object");

        long dataOffset = 8 + (long)headerLength;
        long dataLength = fileLength - dataOffset;
        var headerBytes = new ReadOnlySpan<byte>(basePtr + 8, (int)headerLength);

        JsonDocument document;
        try
        {
            // Writers pad the header with trailing spaces for alignment; JSON allows trailing whitespace.
            document = JsonDocument.Parse(headerBytes.ToArray());
        }
        catch (JsonException e)
        {
            throw new MalformedCheckpointException(path, $"header ({headerLength} bytes) is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new MalformedCheckpointException(path, $"header must be a JSON object, found {root.ValueKind}");

            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var names = new List<string>();
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    metadata = ParseMetadata(path, property.Value);
                    continue;
                }
                SafetensorsTensorInfo info = ParseTensor(path, property.Name, property.Value, dataOffset, dataLength);
                if (!tensors.TryAdd(info.Name, info))
                    throw new MalformedCheckpointException(path, $"tensor '{info.Name}' appears twice in the header");
                names.Add(info.Name);
            }

            CheckNoOverlap(path, tensors.Values, dataOffset);
            return (dataOffset, tensors, names, metadata);
        }
    }

    private static IReadOnlyDictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value.ValueKind == JsonValueKind.Null)
            return metadata;
        if (value.ValueKind != JsonValueKind.Object)
            throw new MalformedCheckpointException(path, $"__metadata__ must be an object of strings, found {value.ValueKind}");
        foreach (JsonProperty entry in value.EnumerateObject())
            metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
        return metadata;
    }

    private static SafetensorsTensorInfo ParseTensor(string path, string name, JsonElement entry, long dataOffset, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new MalformedCheckpointException(path, $"tensor '{name}': entry must be an object, found {entry.ValueKind}");

        if (!entry.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new MalformedCheckpointException(path, $"tensor '{name}' has no string 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out SafetensorsDType dtype))
            throw new MalformedCheckpointException(path,
                $"tensor '{name}' has unknown dtype '{dtypeName}'; supported: {SafetensorsDTypes.SupportedList}");

        if (!entry.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new MalformedCheckpointException(path, $"tensor '{name}' has no 'shape' array");
        var shape = new long[shapeElement.GetArrayLength()];
        long elementCount = 1;
        int d = 0;
        foreach (JsonElement dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size) || size < 0)
                throw new MalformedCheckpointException(path,
                    $"tensor '{name}' has an invalid shape {shapeElement.GetRawText()}: dimensions must be non-negative integers");
            shape[d++] = size;
            try { elementCount = checked(elementCount * size); }
            catch (OverflowException)
            {
                throw new MalformedCheckpointException(path, $"tensor '{name}': shape {shapeElement.GetRawText()} overflows a 64-bit element count");
            }
        }

        if (!entry.TryGetProperty("data_offsets", out JsonElement offsetsElement)
            || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new MalformedCheckpointException(path, $"tensor '{name}' has no 'data_offsets' [begin, end] pair");
        JsonElement beginElement = offsetsElement[0], endElement = offsetsElement[1];
        if (beginElement.ValueKind != JsonValueKind.Number || !beginElement.TryGetInt64(out long begin) || begin < 0
            || endElement.ValueKind != JsonValueKind.Number || !endElement.TryGetInt64(out long end) || end < 0)
            throw new MalformedCheckpointException(path,
                $"tensor '{name}' has invalid data_offsets {offsetsElement.GetRawText()}: they must be non-negative integers");
        if (end < begin)
            throw new MalformedCheckpointException(path, $"tensor '{name}' has data_offsets [{begin}, {end}] with end before begin");
        if (end > dataLength)
            throw new MalformedCheckpointException(path,
                $"tensor '{name}' has data_offsets [{begin}, {end}] past the end of the data section ({dataLength} bytes); the file is truncated or the header is wrong");

        long expectedBytes;
        try { expectedBytes = checked(elementCount * dtype.SizeInBytes()); }
        catch (OverflowException)
        {
            throw new MalformedCheckpointException(path, $"tensor '{name}': shape {shapeElement.GetRawText()} × {dtypeName} size overflows 64 bits");
        }
        if (expectedBytes != end - begin)
            throw new MalformedCheckpointException(path,
                $"tensor '{name}' has shape {shapeElement.GetRawText()} and dtype {dtypeName} ({expectedBytes} bytes) but data_offsets [{begin}, {end}] cover {end - begin} bytes");

        return new SafetensorsTensorInfo(name, dtype, Array.AsReadOnly(shape), elementCount, dataOffset + begin, end - begin);
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafetensorsTensorInfo> tensors, long dataOffset)
    {
        SafetensorsTensorInfo[] sorted = tensors.Where(t => t.ByteLength > 0)
            .OrderBy(t => t.FileOffset).ThenBy(t => t.ByteLength).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            SafetensorsTensorInfo previous = sorted[i - 1], current = sorted[i];
            if (current.FileOffset < previous.FileOffset + previous.ByteLength)
                throw new MalformedCheckpointException(path,
                    $"tensors '{previous.Name}' (data_offsets [{previous.FileOffset - dataOffset}, {previous.FileOffset - dataOffset + previous.ByteLength}]) and '{current.Name}' (data_offsets [{current.FileOffset - dataOffset}, {current.FileOffset - dataOffset + current.ByteLength}]) overlap");
        }
    }
}
