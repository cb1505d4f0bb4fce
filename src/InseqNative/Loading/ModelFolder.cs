using InseqNative.Tokenization;

namespace InseqNative.Loading;

/// <summary>
/// A Hugging Face model folder opened for use: typed config.json, generation_config.json (or defaults), the
/// memory-mapped safetensors checkpoint and the tokenizer. Dispose to unmap the weights.
/// </summary>
public sealed class ModelFolder : IDisposable
{
    public string Path { get; }
    public ModelConfig Config { get; }
    public GenerationConfig GenerationConfig { get; }
    public CheckpointReader Checkpoint { get; }
    public TextTokenizer Tokenizer { get; }

    private ModelFolder(string path, ModelConfig config, GenerationConfig generationConfig, CheckpointReader checkpoint,
        TextTokenizer tokenizer)
    {
        Path = path;
        Config = config;
        GenerationConfig = generationConfig;
        Checkpoint = checkpoint;
        Tokenizer = tokenizer;
    }

    public static ModelFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full))
            throw new MissingModelFileException(full,
                File.Exists(full) ? "is a file; expected a model folder (with config.json, weights and tokenizer files)"
                    : "model folder does not exist");

        ModelConfig config = ModelConfig.Load(System.IO.Path.Combine(full, ModelConfig.FileName));
        GenerationConfig generation = GenerationConfig.LoadOrDefault(full, config);
        TextTokenizer tokenizer = TokenizerLoader.Load(full, config);
        CheckpointReader checkpoint = CheckpointReader.Open(full);
        return new ModelFolder(full, config, generation, checkpoint, tokenizer);
    }

    public void Dispose() => Checkpoint.Dispose();
}
