using InseqNative.Generation;
using InseqNative.Interop;
using InseqNative.Loading;
using InseqNative.Tokenization;

namespace InseqNative;

/// <summary>
/// A Hugging Face checkpoint loaded into our native transformer: weights uploaded once to the device, tokenizer and
/// generation defaults alongside. Forward, input-embedding gradients and the KV cache run in
/// <see cref="InferenceContext"/>s created from it; the convenience methods here size one for the call.
/// </summary>
public sealed unsafe class TransformerModel : IDisposable
{
    internal ModelHandle Handle { get; }
    public ModelConfig Config { get; }
    public GenerationConfig GenerationConfig { get; }
    /// <summary>Null for models built in memory (benchmarks) without tokenizer files.</summary>
    public TextTokenizer? Tokenizer { get; }
    public Device Device { get; }
    /// <summary>The GEMM arithmetic of every context of this model: what was asked on a CUDA device, always
    /// <see cref="GemmPrecision.Fp32"/> on the CPU (which has no other mode).</summary>
    public GemmPrecision Precision { get; }
    public string? FolderPath { get; }
    public long WeightBytes { get; }

    TransformerModel(ModelHandle handle, ModelConfig config, GenerationConfig generation, TextTokenizer? tokenizer,
        Device device, GemmPrecision precision, string? folder)
    {
        Handle = handle; Config = config; GenerationConfig = generation; Tokenizer = tokenizer; Device = device;
        Precision = device.Kind == DeviceKind.Cuda ? precision : GemmPrecision.Fp32;
        FolderPath = folder;
        NativeCheck.Ok(NativeMethods.ModelWeightBytes(handle, out var bytes), "inq_model_weight_bytes");
        WeightBytes = bytes;
    }

    /// <summary>Loads a Hugging Face model folder (config.json, *.safetensors, tokenizer files).
    /// <paramref name="precision"/>: the GEMM mode on a CUDA device (TF32 / BF16 are opt-in); asking for one with
    /// <see cref="Device.Cpu"/> is an error, with <see cref="Device.Auto"/> that lands on the CPU it computes fp32
    /// (<see cref="Precision"/> says which ran).</summary>
    public static TransformerModel Load(string folder, Device? device = null, GemmPrecision precision = GemmPrecision.Fp32)
    {
        using var files = ModelFolder.Open(folder);
        var resolved = (device ?? Device.Auto);
        var handle = CreateNative(files.Config, resolved, precision, out var actual);
        try
        {
            WeightUploader.Upload(handle, files.Checkpoint, files.Config);
            return new TransformerModel(handle, files.Config, files.GenerationConfig, files.Tokenizer, actual,
                precision, Path.GetFullPath(folder));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A model with random weights (normal, std <paramref name="std"/>; norms 1, biases 0) built in
    /// memory: for benchmarks and tests that need a shape, not a checkpoint.</summary>
    public static TransformerModel CreateRandom(ModelConfig config, int seed, Device? device = null, float std = 0.02f,
        GemmPrecision precision = GemmPrecision.Fp32)
    {
        var handle = CreateNative(config, device ?? Device.Auto, precision, out var actual);
        try
        {
            WeightUploader.UploadRandom(handle, config, seed, std);
            return new TransformerModel(handle, config, GenerationConfig.Default, null, actual, precision, null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    static ModelHandle CreateNative(ModelConfig config, Device device, GemmPrecision precision, out Device actual)
    {
        if (device.Kind == DeviceKind.Cpu && precision != GemmPrecision.Fp32)
            throw new InvalidInputException(
                $"precision {precision.Id()} is a CUDA tensor-core GEMM mode; the CPU backend computes fp32 only " +
                "(use device cuda or auto, or precision fp32)");
        if (NativeMethods.AbiVersion() != NativeMethods.ExpectedAbiVersion)
            throw new InseqException(
                $"native library {NativeLibraryResolver.LoadedPath} has ABI version {NativeMethods.AbiVersion()}, " +
                $"this assembly needs {NativeMethods.ExpectedAbiVersion}: rebuild with `dotnet build`");
        var ordinal = device.Resolve();
        actual = ordinal < 0 ? Device.Cpu : Device.Cuda(ordinal);
        var native = NativeConfigMapper.ToNative(config);
        NativeCheck.Ok(NativeMethods.ModelCreate(in native, ordinal, out var raw), "inq_model_create");
        var handle = new ModelHandle();
        handle.Adopt(raw);
        return handle;
    }

    /// <summary>Arena bytes a context of this size would take (DESIGN §2 size query).</summary>
    public long ContextMemoryBytes(int maxBatch, int maxSeq, int maxCotangents, bool keepAttention = false)
    {
        NativeCheck.Ok(NativeMethods.ContextMemorySize(Handle, maxBatch, maxSeq, maxCotangents,
            ContextFlags(keepAttention), out var bytes), "inq_context_memory_size");
        return bytes;
    }

    internal int ContextFlags(bool keepAttention) =>
        (keepAttention ? NativeMethods.ContextKeepAttention : 0) | Precision.ContextFlagValue();

    /// <summary>Tests only: a context whose arena exceeds this many bytes fails the way a device out of memory does,
    /// so the engine's retry path is exercised without a GPU to exhaust.</summary>
    internal long? SimulatedFreeBytes { get; set; }

    public InferenceContext CreateContext(int maxBatch, int maxSeq, int maxCotangents = 0, bool keepAttention = false)
    {
        ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
        if (maxSeq > MaxPositions)
            throw new InvalidInputException($"sequence length {maxSeq} exceeds the model's {MaxPositions} positions{LimitReason}");
        if (SimulatedFreeBytes is { } free && ContextMemoryBytes(maxBatch, maxSeq, maxCotangents, keepAttention) is var need && need > free)
            throw new DeviceOutOfMemoryException("inq_context_create",
                $"allocating {need} bytes for the context arena failed: out of device memory ({free} bytes free, simulated)");
        return new InferenceContext(this, maxBatch, maxSeq, maxCotangents, keepAttention);
    }

    /// <summary>Logits [B, T, V] of a batch of id sequences (left-padded internally; padded positions hold the
    /// padded forward's values, which are meaningless).</summary>
    public Tensor Logits(IReadOnlyList<int[]> sequences)
    {
        var batch = TokenBatch.LeftPadded(sequences.Select(s => (IReadOnlyList<int>)s).ToList(), PadTokenIdForGeneration);
        CheckLength(batch.Length);
        using var ctx = CreateContext(batch.Batch, batch.Length);
        return ctx.Forward(batch)!;
    }

    /// <summary>Encoder-decoder logits [T, V] of one source and one decoder input (decoder start token first; no
    /// padding): row t scores the token after target position t.</summary>
    public Tensor Seq2SeqLogits(int[] sourceIds, int[] decoderInputIds)
    {
        CheckLength(Math.Max(sourceIds.Length, decoderInputIds.Length));
        using var ctx = CreateContext(1, Math.Max(sourceIds.Length, decoderInputIds.Length));
        var logits = ctx.Seq2SeqForward(1, sourceIds, null, decoderInputIds, null)!;
        return new Tensor(logits.Data, decoderInputIds.Length, logits.Dim(2));
    }

    /// <summary>
    /// Greedy encoder-decoder generation for one source (see <see cref="Seq2SeqGenerator"/>: bad_words_ids,
    /// forced BOS/EOS, stop at EOS, KV-cached). Returns the sequence including the decoder start token.
    /// <paramref name="forcedBosTokenId"/> overrides the config's and the tokenizer's (M2M100's target language).
    /// </summary>
    public int[] Seq2SeqGreedy(int[] sourceIds, int maxNewTokens, int? forcedBosTokenId = null)
    {
        var start = GenerationConfig.DecoderStartTokenId ?? Config.DecoderStartTokenId
            ?? throw new InvalidInputException("the model defines no decoder_start_token_id");
        var result = Seq2SeqGenerator.Generate(this, [sourceIds],
            new GenerationOptions { MaxNewTokens = maxNewTokens, DoSample = false }, forcedBosTokenId)[0];
        return [start, .. result.GeneratedIds];
    }

    /// <summary>Logits [B, T, V] of input token embeddings [B, T, hidden].</summary>
    public Tensor LogitsFromEmbeddings(Tensor embeddings, int[]? mask = null)
    {
        if (embeddings.Rank != 3) throw new InvalidInputException("embeddings must be [batch, seq, hidden]");
        CheckLength(embeddings.Dim(1));
        using var ctx = CreateContext(embeddings.Dim(0), embeddings.Dim(1));
        return ctx.ForwardEmbeddings(embeddings, mask)!;
    }

    /// <summary>
    /// The primitive every gradient method uses: ∂(Σ_v dlogits[b,k,v]·logits[b, positions[b,k], v]) / ∂embeddings[b],
    /// for K cotangents per row, from one shared forward. Returns [B, K, T, hidden].
    /// </summary>
    public Tensor EmbeddingGradients(Tensor embeddings, int[]? mask, int[] positions, Tensor dlogits,
        int maxCotangentRows = 256)
    {
        if (embeddings.Rank != 3) throw new InvalidInputException("embeddings must be [batch, seq, hidden]");
        var b = embeddings.Dim(0);
        CheckLength(embeddings.Dim(1));
        using var ctx = CreateContext(b, embeddings.Dim(1), Math.Max(b, Math.Min(maxCotangentRows, b * dlogits.Dim(1))));
        ctx.ForwardEmbeddings(embeddings, mask, LogitsMode.None, keepForBackward: true);
        return ctx.BackwardEmbeddings(positions, dlogits);
    }

    /// <summary>Token embedding rows [n, hidden] (no positions), e.g. the UNK embedding used as a baseline.</summary>
    public Tensor Embed(ReadOnlySpan<int> ids)
    {
        using var ctx = CreateContext(1, 1);
        return ctx.EmbedTokens(ids);
    }

    /// <summary>Decoder-only: continues the prompts. Encoder-decoder: translates the sources (generated ids exclude
    /// the decoder start token).</summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> promptIds, GenerationOptions? options = null) =>
        Config.IsEncoderDecoder ? Seq2SeqGenerator.Generate(this, promptIds, options) : Generator.Generate(this, promptIds, options);

    /// <summary>Tokenizes a prompt and generates from it.</summary>
    public GeneratedSequence Generate(string prompt, GenerationOptions? options = null)
    {
        var ids = Encode(prompt);
        return Generate([ids], options)[0];
    }

    /// <summary>Token ids of a text; empty text or a tokenizer-less model is an error.</summary>
    public int[] Encode(string text)
    {
        if (Tokenizer is null) throw new InvalidInputException("this model was built without a tokenizer");
        if (string.IsNullOrEmpty(text)) throw new InvalidInputException("input text is empty");
        var ids = Tokenizer.Encode(text);
        if (ids.Length == 0) throw new InvalidInputException($"input text '{text}' produced no tokens");
        return ids;
    }

    /// <summary>EOS ids from generation_config.json, else config.json, else the tokenizer.</summary>
    public IReadOnlyList<int> EosTokenIds =>
        GenerationConfig.EosTokenIds is { Count: > 0 } g ? g
        : Config.EosTokenIds is { Count: > 0 } c ? c
        : Tokenizer?.EosTokenId is { } t ? [t] : [];

    /// <summary>Hugging Face pads generation with pad_token_id, falling back to the first EOS id.</summary>
    public int PadTokenIdForGeneration =>
        GenerationConfig.PadTokenId ?? Config.PadTokenId ?? Tokenizer?.PadTokenId ?? (EosTokenIds.Count > 0 ? EosTokenIds[0] : 0);

    /// <summary>Longest sequence the model's positions cover.</summary>
    public int MaxPositions => Config.MaxPositions ?? int.MaxValue;

    void CheckLength(int length)
    {
        if (length > MaxPositions)
            throw new InvalidInputException($"sequence of {length} tokens exceeds the model's {MaxPositions} positions{LimitReason}");
    }

    string LimitReason => Config is LlamaConfig l ? $" ({l.PositionLimitReason})" : "";

    public void Dispose() => Handle.Dispose();
}
