using System.Text.Json;
using System.Text.RegularExpressions;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// A fast tokenizer's byte-level pipeline other than GPT-2's (Llama 3, Qwen2): optional NFC normalizer, a Split
/// pre-tokenizer with its own regex followed by ByteLevel without regex, BPE (optionally with ignore_merges), the
/// special tokens the TemplateProcessing post-processor puts around a single sequence, and the ByteLevel decoder.
/// </summary>
internal sealed record SplitByteLevelPipeline(
    SplitPreTokenizer Split,
    bool NfcNormalize,
    bool IgnoreMerges,
    TokenizerTemplate? Template);

/// <summary>Special tokens TemplateProcessing's <c>single</c> template puts before and after <c>$A</c>.</summary>
internal sealed record TokenizerTemplate(IReadOnlyList<SpecialToken> Before, IReadOnlyList<SpecialToken> After);

/// <summary>Reads and checks the pipeline components of tokenizer.json, refusing any that would give other ids.</summary>
internal static class TokenizerJsonPipeline
{
    private const string Supported =
        "supported: ByteLevel (GPT-2's split rules), or Sequence[Split(Regex, behavior Isolated), ByteLevel(use_regex=false)] as Llama 3 and Qwen2 use";

    /// <summary>Null for GPT-2's ByteLevel pre-tokenizer (with <paramref name="addPrefixSpace"/> set), else the Split
    /// pipeline.</summary>
    public static SplitByteLevelPipeline? Read(JsonFileReader root, JsonFileReader model, string path, out bool addPrefixSpace)
    {
        CheckModel(model, path);
        addPrefixSpace = false;
        if (!root.TryGet("pre_tokenizer", out JsonElement pre))
            throw new UnsupportedModelException(path, $"pre_tokenizer 'none' is not supported yet ({Supported})");
        string preType = TypeOf(pre);
        if (preType == "ByteLevel")
        {
            if (root.TryGet("normalizer", out JsonElement normalizer))
                throw new UnsupportedModelException(path,
                    $"normalizer '{TypeOf(normalizer)}' is not supported yet with GPT-2's ByteLevel pre_tokenizer (byte-level BPE without a normalizer is)");
            var preReader = new JsonFileReader(path, pre);
            if (preReader.GetBool("use_regex") == false)
                throw new UnsupportedModelException(path,
                    "pre_tokenizer ByteLevel with use_regex=false alone is not supported yet (it must follow a Split)");
            addPrefixSpace = preReader.GetBool("add_prefix_space") ?? false;
            return null;
        }
        if (preType != "Sequence")
            throw new UnsupportedModelException(path, $"pre_tokenizer '{preType}' is not supported yet ({Supported})");

        SplitPreTokenizer split = ReadSequence(new JsonFileReader(path, pre), path);
        bool nfc = ReadNormalizer(root, path);
        CheckDecoder(root, path);
        TokenizerTemplate? template = ReadPostProcessor(root, path);
        return new SplitByteLevelPipeline(split, nfc, model.GetBool("ignore_merges") ?? false, template);
    }

    private static void CheckModel(JsonFileReader model, string path)
    {
        if (model.GetBool("byte_fallback") == true)
            throw new UnsupportedModelException(path, "BPE byte_fallback is not supported for byte-level BPE");
        if (!string.IsNullOrEmpty(model.GetString("continuing_subword_prefix"))
            || !string.IsNullOrEmpty(model.GetString("end_of_word_suffix")))
            throw new UnsupportedModelException(path, "BPE continuing_subword_prefix / end_of_word_suffix are not supported");
        if (model.GetDouble("dropout") is > 0)
            throw new UnsupportedModelException(path, "BPE dropout (random merges at encoding time) is not supported");
    }

    private static SplitPreTokenizer ReadSequence(JsonFileReader sequence, string path)
    {
        if (!sequence.TryGet("pretokenizers", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
            throw new ModelLoadException(path, "pre_tokenizer Sequence has no 'pretokenizers' list");
        JsonElement[] steps = [.. list.EnumerateArray()];
        string shape = string.Join(", ", steps.Select(TypeOf));
        if (steps.Length != 2 || TypeOf(steps[0]) != "Split" || TypeOf(steps[1]) != "ByteLevel")
            throw new UnsupportedModelException(path, $"pre_tokenizer 'Sequence[{shape}]' is not supported yet ({Supported})");

        var byteLevel = new JsonFileReader(path, steps[1]);
        if (byteLevel.GetBool("use_regex") != false)
            throw new UnsupportedModelException(path,
                "pre_tokenizer ByteLevel after a Split must have use_regex=false (GPT-2's split rules applied again are not supported)");
        if (byteLevel.GetBool("add_prefix_space") == true)
            throw new UnsupportedModelException(path,
                "pre_tokenizer ByteLevel after a Split with add_prefix_space=true (a space added to every piece) is not supported");
        return ReadSplit(new JsonFileReader(path, steps[0]), path);
    }

    private static SplitPreTokenizer ReadSplit(JsonFileReader split, string path)
    {
        string behavior = split.GetString("behavior") ?? "(none)";
        if (behavior != "Isolated")
            throw new UnsupportedModelException(path,
                $"pre_tokenizer Split with behavior '{behavior}' is not supported yet (supported: Isolated)");
        if (split.GetBool("invert") == true)
            throw new UnsupportedModelException(path, "pre_tokenizer Split with invert=true is not supported yet");
        if (!split.TryGet("pattern", out JsonElement pattern) || pattern.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException(path, "pre_tokenizer Split has no 'pattern' object ({\"Regex\": ...} or {\"String\": ...})");
        var patternReader = new JsonFileReader(path, pattern);
        string regex = patternReader.GetString("Regex") is { } r ? r
            : patternReader.GetString("String") is { } s ? Regex.Escape(s)
            : throw new ModelLoadException(path, "pre_tokenizer Split pattern must be {\"Regex\": ...} or {\"String\": ...}");
        try
        {
            return new SplitPreTokenizer(new Regex(regex, RegexOptions.CultureInvariant));
        }
        catch (ArgumentException e)
        {
            throw new UnsupportedModelException(path, $"pre_tokenizer Split regex '{regex}' is not supported by .NET's Regex: {e.Message}");
        }
    }

    private static bool ReadNormalizer(JsonFileReader root, string path)
    {
        if (!root.TryGet("normalizer", out JsonElement normalizer))
            return false;
        string type = TypeOf(normalizer);
        return type == "NFC" ? true
            : throw new UnsupportedModelException(path, $"normalizer '{type}' is not supported yet (supported: none, NFC)");
    }

    private static void CheckDecoder(JsonFileReader root, string path)
    {
        string type = root.TryGet("decoder", out JsonElement decoder) ? TypeOf(decoder) : "none";
        if (type != "ByteLevel")
            throw new UnsupportedModelException(path, $"decoder '{type}' is not supported yet with a Split pre_tokenizer (supported: ByteLevel)");
    }

    private static TokenizerTemplate? ReadPostProcessor(JsonFileReader root, string path)
    {
        if (!root.TryGet("post_processor", out JsonElement post))
            return null;
        JsonElement[] processors = TypeOf(post) == "Sequence"
            ? new JsonFileReader(path, post).TryGet("processors", out JsonElement list) && list.ValueKind == JsonValueKind.Array
                ? [.. list.EnumerateArray()]
                : throw new ModelLoadException(path, "post_processor Sequence has no 'processors' list")
            : [post];
        TokenizerTemplate? template = null;
        foreach (JsonElement processor in processors)
        {
            string type = TypeOf(processor);
            if (type == "ByteLevel")
                continue; // only moves offsets
            if (type != "TemplateProcessing")
                throw new UnsupportedModelException(path,
                    $"post_processor '{type}' is not supported yet (supported: ByteLevel, TemplateProcessing, a Sequence of them)");
            if (template is not null)
                throw new UnsupportedModelException(path, "post_processor with two TemplateProcessing steps is not supported");
            template = ReadTemplate(new JsonFileReader(path, processor), path);
        }
        return template;
    }

    private static TokenizerTemplate ReadTemplate(JsonFileReader template, string path)
    {
        if (!template.TryGet("single", out JsonElement single) || single.ValueKind != JsonValueKind.Array)
            throw new ModelLoadException(path, "post_processor TemplateProcessing has no 'single' list");
        template.TryGet("special_tokens", out JsonElement specials);
        var before = new List<SpecialToken>();
        var after = new List<SpecialToken>();
        bool seenSequence = false;
        foreach (JsonElement piece in single.EnumerateArray())
        {
            var reader = new JsonFileReader(path, piece);
            if (reader.TryGet("Sequence", out JsonElement sequence))
            {
                string id = new JsonFileReader(path, sequence).GetString("id") ?? "A";
                if (id != "A" || seenSequence)
                    throw new UnsupportedModelException(path, $"post_processor TemplateProcessing single template uses sequence '${id}' (only one $A is supported)");
                seenSequence = true;
            }
            else if (reader.TryGet("SpecialToken", out JsonElement special))
            {
                string name = new JsonFileReader(path, special).GetString("id")
                    ?? throw new ModelLoadException(path, "post_processor TemplateProcessing SpecialToken has no 'id'");
                (seenSequence ? after : before).AddRange(ResolveSpecial(specials, name, path));
            }
            else
            {
                throw new ModelLoadException(path, "post_processor TemplateProcessing single items must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        if (!seenSequence)
            throw new ModelLoadException(path, "post_processor TemplateProcessing single template has no $A");
        return new TokenizerTemplate(before, after);
    }

    private static IEnumerable<SpecialToken> ResolveSpecial(JsonElement specials, string name, string path)
    {
        if (specials.ValueKind != JsonValueKind.Object || !specials.TryGetProperty(name, out JsonElement entry))
            throw new ModelLoadException(path, $"post_processor TemplateProcessing uses '{name}', which its special_tokens do not define");
        var reader = new JsonFileReader(path, entry);
        IReadOnlyList<int> ids = reader.GetIntOrIntList("ids");
        string[] tokens = reader.TryGet("tokens", out JsonElement t) && t.ValueKind == JsonValueKind.Array
            ? [.. t.EnumerateArray().Select(x => x.GetString() ?? name)]
            : [];
        if (ids.Count == 0)
            throw new ModelLoadException(path, $"post_processor TemplateProcessing special token '{name}' has no ids");
        return ids.Select((id, i) => new SpecialToken(i < tokens.Length ? tokens[i] : name, id));
    }

    internal static string TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out JsonElement t)
            && t.ValueKind == JsonValueKind.String ? t.GetString()! : element.ValueKind.ToString();
}
