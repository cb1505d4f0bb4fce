using System.Text.Json;
using System.Text.Json.Nodes;

namespace InseqNative.Outputs.Serialization;

/// <summary>Reads Inseq attribution JSON (0.6 and 0.7 layouts, with or without class envelopes).</summary>
internal static class AttributionJsonReader
{
    public static FeatureAttributionOutput Read(ReadOnlySpan<byte> utf8, string? path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(NonFiniteJson.Sanitize(utf8), new JsonDocumentOptions { MaxDepth = 512 });
        }
        catch (JsonException ex)
        {
            throw new AttributionFileException(path, $"not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            try
            {
                return ReadOutput(doc.RootElement);
            }
            catch (AttributionFileException ex) when (ex.FilePath is null && path is not null)
            {
                throw new AttributionFileException(path, ex.Message, ex);
            }
            catch (Exception ex) when (ex is FormatException or KeyNotFoundException or InvalidOperationException
                                           or InvalidInputException)
            {
                throw new AttributionFileException(path, ex.Message, ex);
            }
        }
    }

    static FeatureAttributionOutput ReadOutput(JsonElement root)
    {
        var (module, cls, attrs) = Envelope(root, "file");
        if (cls is not null && cls != InseqClassNames.Output)
        {
            // A lone sequence output (e.g. saved from a FeatureAttributionSequenceOutput) is accepted too.
            if (InseqClassNames.TryParse(cls, out _)) return new FeatureAttributionOutput([ReadSequence(root, "file")]);
            throw Unknown(module, cls, "file", [InseqClassNames.Output, .. InseqClassNames.SequenceClasses]);
        }
        var info = attrs.TryGetProperty("info", out var i) && i.ValueKind == JsonValueKind.Object
            ? (JsonObject)JsonNode.Parse(i.GetRawText())!
            : new JsonObject();
        if (!attrs.TryGetProperty("sequence_attributions", out var seqs) || seqs.ValueKind != JsonValueKind.Array)
            throw new FormatException("no sequence_attributions list");
        var sequences = seqs.EnumerateArray().Select((s, k) => ReadSequence(s, $"sequence_attributions[{k}]")).ToArray();
        List<FeatureAttributionStepOutput>? steps = null;
        if (attrs.TryGetProperty("step_attributions", out var st) && st.ValueKind == JsonValueKind.Array)
            steps = st.EnumerateArray().Select((s, k) => ReadStep(s, $"step_attributions[{k}]")).ToList();
        return new FeatureAttributionOutput(sequences, steps, new AttributionInfo(info));
    }

    static FeatureAttributionSequenceOutput ReadSequence(JsonElement e, string where)
    {
        var (module, cls, a) = Envelope(e, where);
        SequenceOutputKind? declared = null;
        if (cls is not null)
        {
            if (!InseqClassNames.TryParse(cls, out var k))
                throw Unknown(module, cls, where, InseqClassNames.SequenceClasses);
            declared = k;
        }
        var sourceAttr = TensorJsonCodec.Read(Get(a, "source_attributions"), $"{where}.source_attributions");
        var targetAttr = TensorJsonCodec.Read(Get(a, "target_attributions"), $"{where}.target_attributions");
        int rank = (sourceAttr ?? targetAttr)?.Rank ?? 2;
        var kind = KindFor(declared, rank);
        var attrPosEnd = Get(a, "attr_pos_end");
        return new FeatureAttributionSequenceOutput(
            ReadTokens(Get(a, "source"), $"{where}.source") ?? [],
            ReadTokens(Get(a, "target"), $"{where}.target") ?? [],
            sourceAttr, targetAttr,
            Get(a, "attr_pos_start") is { ValueKind: JsonValueKind.Number } s ? s.GetInt32() : 0,
            attrPosEnd.ValueKind == JsonValueKind.Number ? attrPosEnd.GetInt32() : null,
            kind,
            ReadScores(Get(a, "step_scores"), $"{where}.step_scores"),
            ReadScores(Get(a, "sequence_scores"), $"{where}.sequence_scores"));
    }

    /// <summary>The declared class, unless the tensors' rank contradicts it: Inseq saves aggregated outputs under their
    /// original class (a Granular output holding [tokens, steps] is already aggregated → Base).</summary>
    static SequenceOutputKind KindFor(SequenceOutputKind? declared, int rank) => (declared, rank) switch
    {
        (_, 2) when declared is not SequenceOutputKind.Coarse => SequenceOutputKind.Base,
        (SequenceOutputKind.Coarse, 2) => SequenceOutputKind.Coarse,
        (SequenceOutputKind.Granular, 3) => SequenceOutputKind.Granular,
        (SequenceOutputKind.MultiDimensional, >= 3) => SequenceOutputKind.MultiDimensional,
        (_, 3) => SequenceOutputKind.Granular,
        _ => SequenceOutputKind.MultiDimensional,
    };

    static FeatureAttributionStepOutput ReadStep(JsonElement e, string where)
    {
        var (module, cls, a) = Envelope(e, where);
        if (cls is not null && cls != InseqClassNames.StepOutput)
            throw Unknown(module, cls, where, [InseqClassNames.StepOutput]);
        return new FeatureAttributionStepOutput(
            TensorJsonCodec.Read(Get(a, "source_attributions"), $"{where}.source_attributions"),
            TensorJsonCodec.Read(Get(a, "target_attributions"), $"{where}.target_attributions"),
            ReadScores(Get(a, "step_scores"), $"{where}.step_scores"),
            ReadScores(Get(a, "sequence_scores"), $"{where}.sequence_scores"),
            ReadBatchTokens(Get(a, "source"), $"{where}.source"),
            ReadBatchTokens(Get(a, "prefix"), $"{where}.prefix"),
            ReadBatchTokens(Get(a, "target"), $"{where}.target"));
    }

    static JsonElement Get(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) ? v : default;

    static (string? Module, string? Class, JsonElement Attributes) Envelope(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{where}: expected an object, found {e.ValueKind}");
        if (!e.TryGetProperty("__instance_type__", out var type)) return (null, null, e);
        if (type.ValueKind != JsonValueKind.Array || type.GetArrayLength() != 2)
            throw new FormatException($"{where}: __instance_type__ must be [module, class]");
        string? module = type[0].ValueKind == JsonValueKind.String ? type[0].GetString() : null;
        string? cls = type[1].GetString();
        var attributes = e.TryGetProperty("attributes", out var at) ? at : default;
        return (module, cls, attributes.ValueKind == JsonValueKind.Object ? attributes : JsonDocument.Parse("{}").RootElement);
    }

    static AttributionFileException Unknown(string? module, string cls, string where, IEnumerable<string> known) =>
        new(null, $"{where}: unknown class '{(module is null ? "" : module + ".")}{cls}'; known classes: {string.Join(", ", known)}");

    static IReadOnlyList<TokenWithId>? ReadTokens(JsonElement e, string where)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (e.ValueKind != JsonValueKind.Array) throw new FormatException($"{where}: expected a list of tokens");
        return e.EnumerateArray().Select((t, k) => ReadToken(t, $"{where}[{k}]")).ToArray();
    }

    static IReadOnlyList<IReadOnlyList<TokenWithId>>? ReadBatchTokens(JsonElement e, string where)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (e.ValueKind != JsonValueKind.Array) throw new FormatException($"{where}: expected a list of token lists");
        return e.EnumerateArray().Select((t, k) => ReadTokens(t, $"{where}[{k}]") ?? []).ToArray();
    }

    static TokenWithId ReadToken(JsonElement e, string where)
    {
        if (e.ValueKind == JsonValueKind.String) return new TokenWithId(e.GetString()!, -1);
        var (module, cls, a) = Envelope(e, where);
        if (cls is not null && cls != InseqClassNames.Token) throw Unknown(module, cls, where, [InseqClassNames.Token]);
        var token = Get(a, "token");
        var id = Get(a, "id");
        if (token.ValueKind != JsonValueKind.String) throw new FormatException($"{where}: token has no 'token' string");
        return new TokenWithId(token.GetString()!, id.ValueKind == JsonValueKind.Number ? id.GetInt32() : -1);
    }

    static IEnumerable<KeyValuePair<string, Tensor>> ReadScores(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) return [];
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var p in e.EnumerateObject())
            if (TensorJsonCodec.Read(p.Value, $"{where}.{p.Name}") is { } t)
                result.Add(KeyValuePair.Create(p.Name, t));
        return result;
    }
}
