using System.Text.Json;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// What tokenizer_config.json, special_tokens_map.json and added_tokens.json say, merged the way transformers'
/// <c>from_pretrained</c> merges them (special_tokens_map.json overrides tokenizer_config.json). Each file is optional.
/// </summary>
internal sealed class TokenizerFolderSettings
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string AddedTokensFile = "added_tokens.json";

    private static readonly string[] NamedRoles = ["bos_token", "eos_token", "unk_token", "pad_token"];

    /// <summary>bos_token/eos_token/unk_token/pad_token → the token's text and flags (id unknown yet: -1).</summary>
    public Dictionary<string, AddedToken> Named { get; } = new(StringComparer.Ordinal);
    public List<AddedToken> AdditionalSpecial { get; } = [];
    /// <summary>Tokens with known ids: added_tokens_decoder and added_tokens.json.</summary>
    public List<AddedToken> AddedWithIds { get; } = [];
    public bool CleanUpTokenizationSpaces { get; private set; } = true;
    public bool? AddPrefixSpace { get; private set; }
    public bool AddBosToken => AddBosTokenSetting ?? false;
    /// <summary>add_bos_token as written (null when absent: the tokenizer class's default applies).</summary>
    public bool? AddBosTokenSetting { get; private set; }
    public bool AddBosTokenOr(bool classDefault) => AddBosTokenSetting ?? classDefault;
    public bool AddEosToken { get; private set; }
    public string? TokenizerClass { get; private set; }
    /// <summary>tokenizer_config.json itself (a detached copy), for class-specific fields (src_lang, extra_ids,
    /// legacy ...); null when the folder has no such file.</summary>
    public JsonFileReader? Config { get; private set; }

    public static TokenizerFolderSettings Load(string folder)
    {
        var settings = new TokenizerFolderSettings();
        string configPath = Path.Combine(folder, TokenizerConfigFile);
        if (File.Exists(configPath))
            settings.ReadTokenizerConfig(configPath);
        string mapPath = Path.Combine(folder, SpecialTokensMapFile);
        if (File.Exists(mapPath))
            settings.ReadSpecialTokensMap(mapPath);
        string addedPath = Path.Combine(folder, AddedTokensFile);
        if (File.Exists(addedPath))
            settings.ReadAddedTokens(addedPath);
        return settings;
    }

    private void ReadTokenizerConfig(string path)
    {
        (JsonDocument document, JsonFileReader reader) = JsonFileReader.Open(path, "tokenizer settings");
        using (document)
        {
            ReadNamed(reader);
            CleanUpTokenizationSpaces = reader.GetBool("clean_up_tokenization_spaces") ?? true;
            AddPrefixSpace = reader.GetBool("add_prefix_space");
            AddBosTokenSetting = reader.GetBool("add_bos_token");
            AddEosToken = reader.GetBool("add_eos_token") ?? false;
            TokenizerClass = reader.GetString("tokenizer_class");
            Config = new JsonFileReader(reader.FilePath, reader.Root.Clone());
            if (reader.TryGet("added_tokens_decoder", out JsonElement decoder))
            {
                if (decoder.ValueKind != JsonValueKind.Object)
                    throw new ModelLoadException(path, "field 'added_tokens_decoder' must be an object of id → token");
                foreach (JsonProperty entry in decoder.EnumerateObject())
                {
                    if (!int.TryParse(entry.Name, out int id) || id < 0)
                        throw new ModelLoadException(path, $"added_tokens_decoder key '{entry.Name}' is not a token id");
                    AddedToken token = ParseToken(path, $"added_tokens_decoder['{entry.Name}']", entry.Value, defaultSpecial: false)
                        ?? throw new ModelLoadException(path, $"added_tokens_decoder['{entry.Name}'] has no content");
                    AddedWithIds.Add(token with { Id = id });
                }
            }
        }
    }

    private void ReadSpecialTokensMap(string path)
    {
        (JsonDocument document, JsonFileReader reader) = JsonFileReader.Open(path, "special tokens");
        using (document)
            ReadNamed(reader);
    }

    private void ReadNamed(JsonFileReader reader)
    {
        foreach (string role in NamedRoles)
        {
            if (!reader.TryGet(role, out JsonElement value))
                continue;
            AddedToken? token = ParseToken(reader.FilePath, role, value, defaultSpecial: true);
            if (token is not null)
                Named[role] = token with { Special = true };
        }
        if (reader.TryGet("additional_special_tokens", out JsonElement additional))
        {
            if (additional.ValueKind != JsonValueKind.Array)
                throw new ModelLoadException(reader.FilePath, "field 'additional_special_tokens' must be a list");
            AdditionalSpecial.Clear();
            foreach (JsonElement item in additional.EnumerateArray())
                if (ParseToken(reader.FilePath, "additional_special_tokens", item, defaultSpecial: true) is { } token)
                    AdditionalSpecial.Add(token with { Special = true });
        }
    }

    private void ReadAddedTokens(string path)
    {
        (JsonDocument document, JsonFileReader reader) = JsonFileReader.Open(path, "added tokens");
        using (document)
        {
            foreach (JsonProperty entry in reader.Root.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                    throw new ModelLoadException(path, $"token '{entry.Name}' must map to a non-negative integer id");
                if (!AddedWithIds.Any(t => t.Content == entry.Name))
                    AddedWithIds.Add(new AddedToken(entry.Name, id, Special: false));
            }
        }
    }

    /// <summary>A token given as a string or as an AddedToken object ({"content": ..., "lstrip": ...}).</summary>
    private static AddedToken? ParseToken(string path, string field, JsonElement value, bool defaultSpecial)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return new AddedToken(value.GetString()!, -1, defaultSpecial);
            case JsonValueKind.Object:
                var reader = new JsonFileReader(path, value);
                string content = reader.GetString("content")
                    ?? throw new ModelLoadException(path, $"field '{field}' has no 'content'");
                return new AddedToken(content, -1,
                    Special: reader.GetBool("special") ?? defaultSpecial,
                    LStrip: reader.GetBool("lstrip") ?? false,
                    RStrip: reader.GetBool("rstrip") ?? false,
                    SingleWord: reader.GetBool("single_word") ?? false,
                    Normalized: reader.GetBool("normalized") ?? false);
            default:
                throw new ModelLoadException(path, $"field '{field}' must be a string, an object with 'content', or null");
        }
    }
}
