using System.CommandLine;
using System.Text.Json;
using InseqNative.Generation;

namespace InseqNative.Cli.Commands;

/// <summary><c>inseq generate</c>: a continuation with each generated token's probability (or JSON).</summary>
static class GenerateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Hugging Face model folder", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "prompt text", Required = true };
        var maxNew = new Option<int?>("--max-new-tokens", "--max_new_tokens") { Description = "tokens to generate (default: generation_config, else 20)" };
        var doSample = new Option<bool>("--do-sample", "--do_sample") { Description = "sample instead of greedy decoding" };
        var temperature = new Option<float?>("--temperature") { Description = "sampling temperature" };
        var topK = new Option<int?>("--top-k", "--top_k") { Description = "keep the k most likely tokens when sampling" };
        var topP = new Option<float?>("--top-p", "--top_p") { Description = "nucleus mass when sampling" };
        var seed = new Option<int?>("--seed") { Description = "sampler seed (same seed, same tokens)" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var precision = new Option<string>("--precision") { Description = "GEMM mode on CUDA: fp32 (reference), tf32 or bf16 (tensor cores, opt-in; the CPU computes fp32)", DefaultValueFactory = _ => "fp32" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };

        var cmd = new Command("generate", "generate a continuation and show each new token's probability");
        foreach (var o in new Option[] { model, input, maxNew, doSample, temperature, topK, topP, seed, device, precision, json })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            try
            {
                using var m = TransformerModel.Load(parse.GetValue(model)!, Device.Parse(parse.GetValue(device)!),
                    GemmPrecisionExtensions.Parse(parse.GetValue(precision)!));
                var options = new GenerationOptions
                {
                    MaxNewTokens = parse.GetValue(maxNew),
                    DoSample = parse.GetValue(doSample),
                    Temperature = parse.GetValue(temperature),
                    TopK = parse.GetValue(topK),
                    TopP = parse.GetValue(topP),
                    Seed = parse.GetValue(seed),
                };
                var result = m.Generate(parse.GetValue(input)!, options);
                var tok = m.Tokenizer!;
                var s2s = tok as InseqNative.Tokenization.Seq2SeqTokenizer;
                var text = s2s is not null
                    ? s2s.DecodeTarget(result.GeneratedIds, skipSpecialTokens: true)
                    : tok.Decode(result.GeneratedIds, skipSpecialTokens: true);
                if (parse.GetValue(json))
                {
                    stdout.WriteLine(JsonSerializer.Serialize(new GenerateJson(result.PromptIds, result.GeneratedIds, text,
                        result.TokenLogProbs), GenerateJsonContext.Default.GenerateJson));
                    return 0;
                }
                // Decoder-only: the prompt and its continuation; encoder-decoder: the source and its translation.
                stdout.WriteLine(s2s is not null
                    ? $"{tok.Decode(result.PromptIds, skipSpecialTokens: true)} → {text}"
                    : tok.Decode(result.PromptIds, skipSpecialTokens: false) + text);
                stdout.WriteLine();
                stdout.WriteLine($"{"#",4}  {"id",7}  {"p",9}  token");
                for (var i = 0; i < result.GeneratedIds.Length; i++)
                {
                    var id = result.GeneratedIds[i];
                    stdout.WriteLine($"{i + 1,4}  {id,7}  {Math.Exp(result.TokenLogProbs[i]),9:0.000000}  {Quote(tok.ToDisplayToken(tok.IdToToken(id)))}");
                }
                return 0;
            }
            catch (Exception e)
            {
                return CliErrors.Report(e, stderr);
            }
        });
        return cmd;
    }

    static string Quote(string s) => JsonSerializer.Serialize(s, GenerateJsonContext.Default.String);
}

/// <summary>The --json shape: generated ids only in output_ids; natural-log probabilities.</summary>
sealed record GenerateJson(
    [property: System.Text.Json.Serialization.JsonPropertyName("input_ids")] int[] InputIds,
    [property: System.Text.Json.Serialization.JsonPropertyName("output_ids")] int[] OutputIds,
    [property: System.Text.Json.Serialization.JsonPropertyName("text")] string Text,
    [property: System.Text.Json.Serialization.JsonPropertyName("token_logprobs")] float[] TokenLogprobs);

[System.Text.Json.Serialization.JsonSerializable(typeof(GenerateJson))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
sealed partial class GenerateJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
