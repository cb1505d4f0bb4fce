using System.Text;
using System.Text.Json;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>Finds and builds the tokenizer of a Hugging Face model folder.</summary>
public static class TokenizerLoader
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>Llama's SentencePiece BPE model.</summary>
    public const string SentencePieceModelFile = "tokenizer.model";

    /// <summary>Byte-level BPE tokenizers whose pre-tokenization differs from GPT-2's: their vocab.json + merges.txt
    /// would silently give other ids through GPT-2's split rules.</summary>
    private static readonly string[] OtherByteLevelClasses = ["Qwen2Tokenizer", "Qwen2TokenizerFast"];

    /// <summary>Encoder-decoder tokenizer kinds, picked by tokenizer_class, else config.json's model_type, else files.</summary>
    private enum Seq2SeqKind { None, T5, Marian, M2M100 }

    private static readonly Dictionary<string, Seq2SeqKind> Seq2SeqClasses = new(StringComparer.Ordinal)
    {
        ["T5Tokenizer"] = Seq2SeqKind.T5, ["T5TokenizerFast"] = Seq2SeqKind.T5,
        ["MarianTokenizer"] = Seq2SeqKind.Marian,
        ["M2M100Tokenizer"] = Seq2SeqKind.M2M100,
    };

    private static readonly Dictionary<string, Seq2SeqKind> Seq2SeqModelTypes = new(StringComparer.Ordinal)
    {
        ["t5"] = Seq2SeqKind.T5, ["mt5"] = Seq2SeqKind.T5, ["marian"] = Seq2SeqKind.Marian, ["m2m_100"] = Seq2SeqKind.M2M100,
    };

    /// <summary>Classes that look like supported ones but tokenize differently.</summary>
    private static readonly Dictionary<string, string> RefusedClasses = new(StringComparer.Ordinal)
    {
        ["NllbTokenizer"] = "NLLB puts its language tokens after the SentencePiece pieces with fairseq's id offset (no vocab.json)",
        ["NllbTokenizerFast"] = "NLLB puts its language tokens after the SentencePiece pieces with fairseq's id offset (no vocab.json)",
        ["MBartTokenizer"] = "mBART appends [</s>, lang] and uses fairseq's id offset",
        ["MBart50Tokenizer"] = "mBART-50 uses fairseq's id offset",
    };

    /// <summary>
    /// Loads the folder's tokenizer: GPT-2 byte-level BPE from vocab.json + merges.txt (what the slow GPT2Tokenizer
    /// reads); the encoder-decoder tokenizers (T5 from spiece.model, Marian from source.spm + target.spm +
    /// vocab.json, M2M100 from sentencepiece.bpe.model + vocab.json, chosen by tokenizer_class, config.json's
    /// model_type or the files present; these are <see cref="Seq2SeqTokenizer"/>s); Llama's SentencePiece BPE from
    /// tokenizer.model; else byte-level BPE from tokenizer.json alone (GPT-2's ByteLevel pre-tokenizer, or the
    /// Split regex + ByteLevel pipeline of Llama 3 and Qwen2, see <see cref="TokenizerJsonPipeline"/>). Special tokens come from
    /// tokenizer_config.json, special_tokens_map.json and added tokens, with <paramref name="config"/>'s ids as a
    /// fallback.
    /// </summary>
    public static TextTokenizer Load(string folder, ModelConfig? config = null)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new MissingModelFileException(full, "model folder does not exist");

        string vocab = Path.Combine(full, VocabFile), merges = Path.Combine(full, MergesFile);
        string tokenizerJson = Path.Combine(full, TokenizerJsonFile);
        bool hasVocab = File.Exists(vocab), hasMerges = File.Exists(merges), hasJson = File.Exists(tokenizerJson);

        string spModel = Path.Combine(full, SentencePieceModelFile);
        if (hasVocab && hasMerges)
            return FromVocabAndMerges(full, vocab, merges, config);
        TokenizerFolderSettings settings = TokenizerFolderSettings.Load(full);
        Seq2SeqKind kind = PickSeq2Seq(full, settings, config);
        if (kind != Seq2SeqKind.None)
            return CreateSeq2Seq(kind, full, settings, config);
        // Llama folders often ship tokenizer.json next to tokenizer.model; the model file is what the slow
        // LlamaTokenizer (and Inseq's fixtures) read.
        if (File.Exists(spModel))
            return SentencePieceBpeTokenizer.Create(spModel, settings, config);
        if (hasJson)
            return FromTokenizerJson(full, tokenizerJson, config);

        string found = hasVocab ? $" ({VocabFile} is present but {MergesFile} is missing)"
            : hasMerges ? $" ({MergesFile} is present but {VocabFile} is missing)" : "";
        throw new MissingModelFileException(full,
            $"no tokenizer files{found}: looked for {VocabFile} + {MergesFile}, {SentencePieceModelFile}, " +
            $"{T5Tokenizer.SentencePieceFile}, {MarianTokenizer.SourceSpmFile} + {MarianTokenizer.TargetSpmFile} + {VocabFile}, " +
            $"{M2M100Tokenizer.SentencePieceFile} + {VocabFile}, or {TokenizerJsonFile}");
    }

    /// <summary>Loads an encoder-decoder model's tokenizer (T5, Marian, M2M100); other folders are refused.</summary>
    public static Seq2SeqTokenizer LoadSeq2Seq(string folder, ModelConfig? config = null)
    {
        TextTokenizer tokenizer = Load(folder, config);
        return tokenizer as Seq2SeqTokenizer ?? throw new UnsupportedModelException(Path.GetFullPath(folder),
            $"the folder's tokenizer ({tokenizer.GetType().Name}) is not an encoder-decoder tokenizer (supported: T5, Marian, M2M100)");
    }

    private static Seq2SeqKind PickSeq2Seq(string folder, TokenizerFolderSettings settings, ModelConfig? config)
    {
        if (settings.TokenizerClass is { } cls)
        {
            if (RefusedClasses.TryGetValue(cls, out string? why))
                throw new UnsupportedModelException(Path.Combine(folder, TokenizerFolderSettings.TokenizerConfigFile),
                    $"tokenizer_class '{cls}' is not supported yet: {why}");
            if (Seq2SeqClasses.TryGetValue(cls, out Seq2SeqKind byClass))
                return byClass;
        }
        if (config is not null && Seq2SeqModelTypes.TryGetValue(config.ModelType, out Seq2SeqKind byType))
            return byType;
        if (File.Exists(Path.Combine(folder, T5Tokenizer.SentencePieceFile)))
            return Seq2SeqKind.T5;
        if (File.Exists(Path.Combine(folder, MarianTokenizer.SourceSpmFile)))
            return Seq2SeqKind.Marian;
        if (File.Exists(Path.Combine(folder, M2M100Tokenizer.SentencePieceFile)) && File.Exists(Path.Combine(folder, VocabFile)))
            return Seq2SeqKind.M2M100;
        return Seq2SeqKind.None;
    }

    private static Seq2SeqTokenizer CreateSeq2Seq(Seq2SeqKind kind, string folder, TokenizerFolderSettings settings, ModelConfig? config)
    {
        switch (kind)
        {
            case Seq2SeqKind.T5:
                if (!File.Exists(Path.Combine(folder, T5Tokenizer.SentencePieceFile)))
                    throw new MissingModelFileException(folder,
                        $"T5Tokenizer needs {T5Tokenizer.SentencePieceFile}, which is missing" +
                        (File.Exists(Path.Combine(folder, TokenizerJsonFile)) ? $" ({TokenizerJsonFile} alone, a Unigram fast tokenizer, is not supported yet)" : ""));
                return T5Tokenizer.Create(folder, settings, config);
            case Seq2SeqKind.Marian:
                return MarianTokenizer.Create(folder, settings, config);
            default:
                return M2M100Tokenizer.Create(folder, settings, config);
        }
    }

    /// <summary>Throws <see cref="MissingModelFileException"/> naming every file of <paramref name="files"/> the
    /// folder lacks.</summary>
    internal static void RequireFiles(string folder, string tokenizerClass, params string[] files)
    {
        string[] missing = files.Where(f => !File.Exists(Path.Combine(folder, f))).ToArray();
        if (missing.Length > 0)
            throw new MissingModelFileException(folder,
                $"{tokenizerClass} needs {string.Join(" + ", files)}; missing: {string.Join(", ", missing)}");
    }

    /// <summary>A vocab.json file: token → non-negative id.</summary>
    internal static Dictionary<string, int> ReadVocab(string path) => ParseVocab(ReadAll(path), path);

    private static ByteLevelBpeTokenizer FromVocabAndMerges(string folder, string vocabPath, string mergesPath, ModelConfig? config)
    {
        byte[] vocabBytes = ReadAll(vocabPath);
        Dictionary<string, int> vocab = ParseVocab(vocabBytes, vocabPath);
        byte[] mergesBytes = ReadAll(mergesPath);
        TokenizerFolderSettings settings = TokenizerFolderSettings.Load(folder);
        if (settings.TokenizerClass is { } cls && OtherByteLevelClasses.Contains(cls))
            throw new UnsupportedModelException(folder,
                $"{cls} splits text with its own pre-tokenization rules (not GPT-2's), which are not supported yet");
        return ByteLevelBpeTokenizer.Create(vocabPath, vocab, mergesBytes, [], settings, config,
            addPrefixSpaceFromModelFile: null);
    }

    private static ByteLevelBpeTokenizer FromTokenizerJson(string folder, string path, ModelConfig? config)
    {
        (JsonDocument document, JsonFileReader reader) = JsonFileReader.Open(path, "fast tokenizer definition");
        using (document)
        {
            if (!reader.TryGet("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, "no 'model' object");
            var modelReader = new JsonFileReader(path, model);
            string type = modelReader.GetString("type") ?? (modelReader.Has("merges") ? "BPE" : "unknown");
            if (type != "BPE")
                throw new UnsupportedModelException(path, $"tokenizer model type '{type}' is not supported yet (supported: byte-level BPE)");
            SplitByteLevelPipeline? pipeline = TokenizerJsonPipeline.Read(reader, modelReader, path, out bool addPrefixSpace);

            if (!modelReader.TryGet("vocab", out JsonElement vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, "model.vocab must be an object of token → id");
            byte[] vocabBytes = Encoding.UTF8.GetBytes(vocabElement.GetRawText());
            Dictionary<string, int> vocab = ParseVocab(vocabBytes, path);
            byte[] mergesBytes = BuildMergesFile(modelReader, path);

            var added = new List<AddedToken>();
            if (reader.TryGet("added_tokens", out JsonElement addedElement))
            {
                if (addedElement.ValueKind != JsonValueKind.Array)
                    throw new ModelLoadException(path, "'added_tokens' must be a list");
                foreach (JsonElement item in addedElement.EnumerateArray())
                {
                    var r = new JsonFileReader(path, item);
                    int id = r.GetInt("id") ?? throw new ModelLoadException(path, "an added_tokens entry has no 'id'");
                    string content = r.GetString("content") ?? throw new ModelLoadException(path, $"added token {id} has no 'content'");
                    added.Add(new AddedToken(content, id, r.GetBool("special") ?? false, r.GetBool("lstrip") ?? false,
                        r.GetBool("rstrip") ?? false, r.GetBool("single_word") ?? false, r.GetBool("normalized") ?? false));
                }
            }

            TokenizerFolderSettings settings = TokenizerFolderSettings.Load(folder);
            return ByteLevelBpeTokenizer.Create(path, vocab, mergesBytes, added, settings, config, addPrefixSpace, pipeline);
        }
    }

    /// <summary>merges.txt bytes from model.merges, which newer files write as [a, b] pairs and older ones as "a b".</summary>
    private static byte[] BuildMergesFile(JsonFileReader model, string path)
    {
        if (!model.TryGet("merges", out JsonElement merges) || merges.ValueKind != JsonValueKind.Array)
            throw new ModelLoadException(path, "model.merges must be a list");
        var text = new StringBuilder("#version: 0.2\n");
        int index = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string[] parts = merge.GetString()!.Split(' ');
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                    throw new ModelLoadException(path, $"model.merges[{index}] '{merge.GetString()}' is not two tokens separated by one space");
                (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
                if (left.Contains(' ') || right.Contains(' ') || left.Contains('\n') || right.Contains('\n'))
                    throw new UnsupportedModelException(path, $"model.merges[{index}] holds a space or newline inside a token, which byte-level BPE never has");
            }
            else
            {
                throw new ModelLoadException(path, $"model.merges[{index}] must be \"a b\" or [\"a\", \"b\"]");
            }
            text.Append(left).Append(' ').Append(right).Append('\n');
            index++;
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static Dictionary<string, int> ParseVocab(byte[] utf8, string path)
    {
        Dictionary<string, int>? vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(utf8);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(path, $"vocabulary is not a JSON object of token → integer id: {e.Message}", e);
        }
        if (vocab is null || vocab.Count == 0)
            throw new ModelLoadException(path, "vocabulary is empty");
        foreach (KeyValuePair<string, int> pair in vocab)
            if (pair.Value < 0)
                throw new ModelLoadException(path, $"token '{pair.Key}' has negative id {pair.Value}");
        return vocab;
    }

    private static byte[] ReadAll(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(path, $"cannot read the file: {e.Message}", e);
        }
    }
}
