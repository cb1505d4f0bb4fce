using System.Text.Encodings.Web;
using System.Text.Json;

namespace InseqNative.Outputs.Serialization;

/// <summary>Writes outputs in Inseq's JSON layout: class envelopes <c>{"__instance_type__": [module, class],
/// "attributes": {...}}</c> with attributes in sorted order (Inseq saves with sort_keys), tokens as TokenWithId
/// envelopes, NaN/Infinity as Python's bare tokens.</summary>
internal static class AttributionJsonWriter
{
    public static byte[] Write(FeatureAttributionOutput output, AttributionSaveOptions options, bool wholeFileCompressed)
    {
        using var stream = new MemoryStream();
        var writerOptions = new JsonWriterOptions
        {
            Indented = options.Indent > 0,
            IndentSize = Math.Max(options.Indent, 1),
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            SkipValidation = false,
        };
        using (var w = new Utf8JsonWriter(stream, writerOptions))
        {
            // Inseq does not gzip arrays inside a file that is gzip'd as a whole.
            var context = new Context(options.Encoding, options.Precision, !wholeFileCompressed);
            StartEnvelope(w, InseqClassNames.AttributionModule, InseqClassNames.Output);
            w.WritePropertyName("info");
            NonFiniteJson.WriteNode(w, output.Info.ToJsonObject());
            w.WriteStartArray("sequence_attributions");
            foreach (var s in output.SequenceAttributions) WriteSequence(w, s, context);
            w.WriteEndArray();
            w.WritePropertyName("step_attributions");
            if (output.StepAttributions is null) w.WriteNullValue();
            else
            {
                w.WriteStartArray();
                // Inseq 0.7 stores step outputs as numpy arrays even when sequences use safetensors.
                var stepContext = context with { Encoding = TensorEncoding.NumpyBase64 };
                foreach (var s in output.StepAttributions) WriteStep(w, s, stepContext);
                w.WriteEndArray();
            }
            EndEnvelope(w);
        }
        return stream.ToArray();
    }

    sealed record Context(TensorEncoding Encoding, ScoresPrecision Precision, bool CompressArrays);

    static void StartEnvelope(Utf8JsonWriter w, string module, string className)
    {
        w.WriteStartObject();
        w.WriteStartArray("__instance_type__");
        w.WriteStringValue(module);
        w.WriteStringValue(className);
        w.WriteEndArray();
        w.WriteStartObject("attributes");
    }

    static void EndEnvelope(Utf8JsonWriter w)
    {
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void WriteSequence(Utf8JsonWriter w, FeatureAttributionSequenceOutput s, Context c)
    {
        StartEnvelope(w, InseqClassNames.AttributionModule, s.InseqClassName);
        w.WriteNumber("attr_pos_end", s.AttrPosEnd);
        w.WriteNumber("attr_pos_start", s.AttrPosStart);
        WriteScores(w, "sequence_scores", s.SequenceScores, c);
        WriteTokens(w, "source", s.Source);
        w.WritePropertyName("source_attributions");
        TensorJsonCodec.Write(w, s.SourceAttributions, c.Encoding, c.Precision, c.CompressArrays);
        WriteScores(w, "step_scores", s.StepScores, c);
        WriteTokens(w, "target", s.Target);
        w.WritePropertyName("target_attributions");
        TensorJsonCodec.Write(w, s.TargetAttributions, c.Encoding, c.Precision, c.CompressArrays);
        EndEnvelope(w);
    }

    static void WriteStep(Utf8JsonWriter w, FeatureAttributionStepOutput s, Context c)
    {
        StartEnvelope(w, InseqClassNames.AttributionModule, InseqClassNames.StepOutput);
        WriteBatchTokens(w, "prefix", s.Prefix);
        WriteScores(w, "sequence_scores", s.SequenceScores, c);
        WriteBatchTokens(w, "source", s.Source);
        w.WritePropertyName("source_attributions");
        TensorJsonCodec.Write(w, s.SourceAttributions, c.Encoding, c.Precision, c.CompressArrays);
        WriteScores(w, "step_scores", s.StepScores, c);
        WriteBatchTokens(w, "target", s.Target);
        w.WritePropertyName("target_attributions");
        TensorJsonCodec.Write(w, s.TargetAttributions, c.Encoding, c.Precision, c.CompressArrays);
        EndEnvelope(w);
    }

    static void WriteScores(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, Tensor> scores, Context c)
    {
        w.WriteStartObject(name);
        foreach (var (key, t) in scores.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WritePropertyName(key);
            TensorJsonCodec.Write(w, t, c.Encoding, c.Precision, c.CompressArrays);
        }
        w.WriteEndObject();
    }

    static void WriteTokens(Utf8JsonWriter w, string name, IReadOnlyList<TokenWithId> tokens)
    {
        w.WriteStartArray(name);
        foreach (var t in tokens) WriteToken(w, t);
        w.WriteEndArray();
    }

    static void WriteBatchTokens(Utf8JsonWriter w, string name, IReadOnlyList<IReadOnlyList<TokenWithId>>? batch)
    {
        w.WritePropertyName(name);
        if (batch is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartArray();
        foreach (var tokens in batch)
        {
            w.WriteStartArray();
            foreach (var t in tokens) WriteToken(w, t);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    static void WriteToken(Utf8JsonWriter w, TokenWithId t)
    {
        StartEnvelope(w, InseqClassNames.TypingModule, InseqClassNames.Token);
        w.WriteNumber("id", t.Id);
        w.WriteString("token", t.Token);
        EndEnvelope(w);
    }
}
