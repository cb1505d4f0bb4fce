namespace InseqNative.Outputs.Rendering;

/// <summary>An sRGB colour.</summary>
public readonly record struct RgbColor(byte R, byte G, byte B)
{
    public string Hex => $"#{R:x2}{G:x2}{B:x2}";

    /// <summary>Black or white, whichever reads better on this colour.</summary>
    public RgbColor Contrasting => 0.299 * R + 0.587 * G + 0.114 * B > 150 ? new(0, 0, 0) : new(255, 255, 255);
}

/// <summary>
/// Maps scores to colours. Diverging (signed data): blue for negative, white at 0, red for positive, symmetric in
/// ±<see cref="Limit"/>. One-sided (non-negative data): white at 0 to red at <see cref="Limit"/>. NaN has no colour.
/// </summary>
public sealed record ColorScale(float Limit, bool Diverging)
{
    static readonly RgbColor White = new(255, 255, 255);
    static readonly RgbColor Red = new(178, 24, 43);
    static readonly RgbColor Blue = new(33, 102, 172);

    /// <summary>A scale fitted to values: diverging when any is negative, limit = largest magnitude (NaN ignored).</summary>
    public static ColorScale Fit(IEnumerable<float> values)
    {
        float limit = 0;
        bool negative = false;
        foreach (float v in values)
        {
            if (float.IsNaN(v) || float.IsInfinity(v)) continue;
            limit = Math.Max(limit, Math.Abs(v));
            negative |= v < 0;
        }
        return new ColorScale(limit == 0 ? 1 : limit, negative);
    }

    public float Minimum => Diverging ? -Limit : 0;
    public float Maximum => Limit;

    /// <summary>Position of a value on the scale, in [−1, 1] (diverging) or [0, 1]; NaN stays NaN.</summary>
    public double Position(float value) =>
        float.IsNaN(value) ? double.NaN : Math.Clamp(value / Limit, Diverging ? -1.0 : 0.0, 1.0);

    /// <summary>The cell colour of a value, or null for NaN.</summary>
    public RgbColor? ColorOf(float value)
    {
        double p = Position(value);
        if (double.IsNaN(p)) return null;
        var end = p < 0 ? Blue : Red;
        double a = Math.Abs(p);
        byte Mix(byte from, byte to) => (byte)Math.Round(from + (to - from) * a);
        return new RgbColor(Mix(White.R, end.R), Mix(White.G, end.G), Mix(White.B, end.B));
    }
}
