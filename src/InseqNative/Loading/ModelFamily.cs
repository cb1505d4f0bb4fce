namespace InseqNative.Loading;

/// <summary>Architecture families a config.json model_type maps onto through <see cref="ModelConfig"/>'s parser table.
/// The encoder-decoder families (Marian, M2M100, T5) load (config, tokenizer, weights) but have no native graph
/// yet: <c>TransformerModel.Load</c> refuses them.</summary>
public enum ModelFamily
{
    Gpt2,
    /// <summary>Llama-style decoders: llama, mistral, qwen2 (<see cref="LlamaConfig"/>).</summary>
    Llama,
    /// <summary>Marian MT (<see cref="MarianConfig"/>).</summary>
    Marian,
    /// <summary>M2M100 (<see cref="M2M100Config"/>).</summary>
    M2M100,
    /// <summary>T5, Flan-T5, mT5 (<see cref="T5Config"/>).</summary>
    T5,
}
