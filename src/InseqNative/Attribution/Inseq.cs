using InseqNative.Attribution;
using InseqNative.Attribution.Methods;
using InseqNative.StepFunctions;

namespace InseqNative;

/// <summary>Entry points with Inseq's names: <c>inseq.load_model</c>, <c>list_feature_attribution_methods</c>,
/// <c>list_step_functions</c>.</summary>
public static class Inseq
{
    /// <summary>Loads a Hugging Face model folder for attribution with a default method (Inseq id, e.g. "saliency").
    /// <paramref name="precision"/>: the GEMM mode on CUDA (see <see cref="TransformerModel.Load"/>).</summary>
    public static AttributionModel LoadModel(string path, string method = "saliency", Device? device = null,
        GemmPrecision precision = GemmPrecision.Fp32)
    {
        MethodRegistry.Get(method);
        var model = TransformerModel.Load(path, device, precision);
        try
        {
            return new AttributionModel(model, method);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public static IReadOnlyList<string> ListFeatureAttributionMethods() => MethodRegistry.Ids;

    public static IReadOnlyList<string> ListStepFunctions() =>
        StepFunctionRegistry.BuiltIns().Select(f => f.Id).ToArray();
}
