namespace InseqNative.Loading;

/// <summary>Architectures the native transformer implements. A config.json model_type maps onto one of these through
/// <see cref="ModelConfig"/>'s parser table; add Marian, T5, M2M100 there with one parser file each.</summary>
public enum ModelFamily
{
    Gpt2,
    /// <summary>Llama-style decoders: llama, mistral, qwen2 (<see cref="LlamaConfig"/>).</summary>
    Llama,
}
