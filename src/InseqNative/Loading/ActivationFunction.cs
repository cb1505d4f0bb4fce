namespace InseqNative.Loading;

/// <summary>MLP non-linearities the native blocks implement.</summary>
public enum ActivationFunction
{
    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): HF gelu_new, gelu_pytorch_tanh, gelu_fast.</summary>
    GeluTanh,
    /// <summary>0.5·x·(1 + erf(x/√2)): HF gelu.</summary>
    GeluErf,
    Relu,
    /// <summary>x·sigmoid(x): HF silu, swish.</summary>
    Silu,
}

public static class ActivationFunctions
{
    public const string SupportedNames = "gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish";

    public static bool TryParse(string hfName, out ActivationFunction activation)
    {
        switch (hfName)
        {
            case "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast": activation = ActivationFunction.GeluTanh; return true;
            case "gelu": activation = ActivationFunction.GeluErf; return true;
            case "relu": activation = ActivationFunction.Relu; return true;
            case "silu" or "swish": activation = ActivationFunction.Silu; return true;
            default: activation = default; return false;
        }
    }

    internal static ActivationFunction Parse(string hfName, string filePath, string field)
    {
        if (TryParse(hfName, out ActivationFunction activation))
            return activation;
        throw new UnsupportedModelException(filePath,
            $"{field} '{hfName}' is not supported (supported: {SupportedNames})");
    }
}
