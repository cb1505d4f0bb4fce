using System.Text.Json;

namespace InseqNative.Loading;

/// <summary>
/// The weights of a model folder: a single <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c> (every shard memory-mapped once). Lookups are by exact tensor name;
/// <see cref="TryFind"/> also bridges a missing or extra module prefix ("transformer.h.0..." vs "h.0...").
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private static readonly string[] UnsupportedWeightFiles =
    [
        "pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack", "model.ckpt.index",
    ];

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, CheckpointTensor> _tensors;
    private readonly List<string> _names;

    public string Folder { get; }
    /// <summary>The file that defines the checkpoint: model.safetensors or the index.</summary>
    public string SourcePath { get; }
    public bool IsSharded { get; }
    public IReadOnlyList<SafetensorsFile> Files => _files;
    public IReadOnlyList<string> TensorNames => _names;
    public int Count => _names.Count;

    private CheckpointReader(string folder, string sourcePath, bool sharded, List<SafetensorsFile> files,
        Dictionary<string, CheckpointTensor> tensors, List<string> names)
    {
        Folder = folder;
        SourcePath = sourcePath;
        IsSharded = sharded;
        _files = files;
        _tensors = tensors;
        _names = names;
    }

    public static CheckpointReader Open(string folder)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new MissingModelFileException(full, "model folder does not exist");

        string single = Path.Combine(full, SingleFileName);
        if (File.Exists(single))
            return OpenSingle(full, single);
        string index = Path.Combine(full, IndexFileName);
        if (File.Exists(index))
            return OpenSharded(full, index);

        string[] present = UnsupportedWeightFiles.Where(f => File.Exists(Path.Combine(full, f))).ToArray();
        string hint = present.Length == 0
            ? ""
            : $"; found {string.Join(", ", present)}, which is not supported (only safetensors checkpoints are read; convert with transformers' `model.save_pretrained(dir, safe_serialization=True)`)";
        throw new MissingModelFileException(full, $"no weights: looked for {SingleFileName} and {IndexFileName}{hint}");
    }

    private static CheckpointReader OpenSingle(string folder, string path)
    {
        SafetensorsFile file = SafetensorsFile.Open(path);
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (string name in file.TensorNames)
            tensors[name] = new CheckpointTensor(file, file.GetInfo(name));
        return new CheckpointReader(folder, path, false, [file], tensors, [.. file.TensorNames]);
    }

    private static CheckpointReader OpenSharded(string folder, string indexPath)
    {
        (JsonDocument document, JsonFileReader reader) = JsonFileReader.Open(indexPath, "sharded checkpoint index");
        var files = new List<SafetensorsFile>();
        try
        {
            using (document)
            {
                if (!reader.TryGet("weight_map", out JsonElement weightMap) || weightMap.ValueKind != JsonValueKind.Object)
                    throw new MalformedCheckpointException(indexPath, "no 'weight_map' object (tensor name → shard file)");

                var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
                var names = new List<string>();
                foreach (JsonProperty entry in weightMap.EnumerateObject())
                {
                    if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                        throw new MalformedCheckpointException(indexPath, $"weight_map['{entry.Name}'] must be a shard file name");
                    string shardName = entry.Value.GetString()!;
                    if (!byShard.TryGetValue(shardName, out SafetensorsFile? shard))
                    {
                        shard = OpenShard(folder, indexPath, shardName, entry.Name);
                        files.Add(shard);
                        byShard[shardName] = shard;
                    }
                    if (!shard.TryGetInfo(entry.Name, out SafetensorsTensorInfo info))
                        throw new MalformedCheckpointException(shard.FilePath,
                            $"tensor '{entry.Name}' is listed in {IndexFileName} for this shard but the shard does not contain it");
                    if (!tensors.TryAdd(entry.Name, new CheckpointTensor(shard, info)))
                        throw new MalformedCheckpointException(indexPath, $"tensor '{entry.Name}' appears twice in weight_map");
                    names.Add(entry.Name);
                }
                if (names.Count == 0)
                    throw new MalformedCheckpointException(indexPath, "weight_map is empty");
                return new CheckpointReader(folder, indexPath, true, files, tensors, names);
            }
        }
        catch
        {
            foreach (SafetensorsFile file in files)
                file.Dispose();
            throw;
        }
    }

    private static SafetensorsFile OpenShard(string folder, string indexPath, string shardName, string firstTensor)
    {
        if (shardName.Contains('/') || shardName.Contains('\\') || shardName is "." or "..")
            throw new MalformedCheckpointException(indexPath,
                $"weight_map names shard '{shardName}' (for tensor '{firstTensor}'); shards must be plain file names inside the model folder");
        string shardPath = Path.Combine(folder, shardName);
        if (!File.Exists(shardPath))
            throw new MissingModelFileException(shardPath,
                $"shard listed in {IndexFileName} (for tensor '{firstTensor}') does not exist");
        return SafetensorsFile.Open(shardPath);
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The tensor with exactly this name; throws <see cref="ModelLoadException"/> naming the checkpoint.</summary>
    public CheckpointTensor Get(string name)
    {
        if (_tensors.TryGetValue(name, out CheckpointTensor? tensor))
            return tensor;
        if (TryFind(name, out tensor))
            return tensor;
        throw new ModelLoadException(SourcePath, $"tensor '{name}' not found among the checkpoint's {Count} tensors");
    }

    /// <summary>
    /// Finds a tensor by name, tolerating a module prefix on either side: exact name first; then the requested name
    /// with leading dotted components removed ("transformer.wte.weight" finds "wte.weight"); then a unique stored
    /// name that ends with "." + the requested name ("wte.weight" finds "transformer.wte.weight").
    /// Ambiguous suffix matches throw, naming the candidates.
    /// </summary>
    public bool TryFind(string name, out CheckpointTensor tensor)
    {
        if (_tensors.TryGetValue(name, out tensor!))
            return true;

        for (int dot = name.IndexOf('.'); dot >= 0; dot = name.IndexOf('.', dot + 1))
            if (_tensors.TryGetValue(name[(dot + 1)..], out tensor!))
                return true;

        string suffix = "." + name;
        string[] candidates = _names.Where(n => n.EndsWith(suffix, StringComparison.Ordinal)).ToArray();
        if (candidates.Length == 1)
        {
            tensor = _tensors[candidates[0]];
            return true;
        }
        if (candidates.Length > 1)
            throw new ModelLoadException(SourcePath,
                $"tensor name '{name}' is ambiguous: it matches {string.Join(", ", candidates.Select(c => $"'{c}'"))}");
        tensor = null!;
        return false;
    }

    public SafetensorsTensorInfo GetInfo(string name) => Get(name).Info;

    /// <summary>Path of the safetensors file holding <paramref name="name"/> (after <see cref="TryFind"/>'s
    /// prefix matching); throws when the checkpoint lacks it.</summary>
    public string FileOf(string name) => Get(name).File.FilePath;

    /// <summary>For error messages: the file holding <paramref name="name"/> when present, else the file that
    /// defines the checkpoint (model.safetensors or the index), which is where it should have been.</summary>
    public string DescribeLocation(string name) =>
        _tensors.TryGetValue(name, out CheckpointTensor? tensor) ? tensor.File.FilePath : SourcePath;

    public float[] ReadAsFloat32(string name) => Get(name).ReadAsFloat32();

    public void ReadAsFloat32(string name, Span<float> destination) => Get(name).ReadAsFloat32(destination);

    public void Dispose()
    {
        foreach (SafetensorsFile file in _files)
            file.Dispose();
    }
}
