using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace InseqNative.Loading;

/// <summary>Exact widening of IEEE half and bfloat16 bit patterns to float32. Both conversions are exact for every
/// input (subnormals, infinities and NaN payloads included), so a vector path is a pure speed-up.</summary>
internal static class HalfConversion
{
    private const uint ExponentMask = 0x7C00u << 13;       // half exponent bits, moved into float position
    private const uint ExponentRebias = (127u - 15u) << 23;
    private const uint ZeroOrSubnormalMagicBits = 113u << 23; // 2^-14 as float bits

    public static void HalfToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        int i = 0;
        if (Vector256.IsHardwareAccelerated && source.Length >= Vector256<ushort>.Count)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            int last = source.Length - Vector256<ushort>.Count;
            for (; i <= last; i += Vector256<ushort>.Count)
            {
                Vector256<ushort> h = Vector256.LoadUnsafe(ref src, (nuint)i);
                (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(h);
                HalfBitsToSingleBits(lo).StoreUnsafe(ref dst, (nuint)i);
                HalfBitsToSingleBits(hi).StoreUnsafe(ref dst, (nuint)(i + Vector256<uint>.Count));
            }
        }
        for (; i < source.Length; i++)
            destination[i] = HalfBitsToSingle(source[i]);
    }

    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        int i = 0;
        if (Vector256.IsHardwareAccelerated && source.Length >= Vector256<ushort>.Count)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref uint dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            int last = source.Length - Vector256<ushort>.Count;
            for (; i <= last; i += Vector256<ushort>.Count)
            {
                Vector256<ushort> h = Vector256.LoadUnsafe(ref src, (nuint)i);
                (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(h);
                Vector256.ShiftLeft(lo, 16).StoreUnsafe(ref dst, (nuint)i);
                Vector256.ShiftLeft(hi, 16).StoreUnsafe(ref dst, (nuint)(i + Vector256<uint>.Count));
            }
        }
        for (; i < source.Length; i++)
            destination[i] = BitConverter.UInt32BitsToSingle((uint)source[i] << 16);
    }

    public static float HalfBitsToSingle(ushort h)
    {
        uint o = (uint)(h & 0x7FFF) << 13;
        uint exponent = o & ExponentMask;
        o += ExponentRebias;
        if (exponent == ExponentMask)
        {
            o += ExponentRebias; // infinity / NaN: push the exponent to all ones
        }
        else if (exponent == 0)
        {
            // Zero or subnormal: renormalise through a float subtraction, which is exact here.
            o += 1u << 23;
            o = BitConverter.SingleToUInt32Bits(
                BitConverter.UInt32BitsToSingle(o) - BitConverter.UInt32BitsToSingle(ZeroOrSubnormalMagicBits));
        }
        o |= (uint)(h & 0x8000) << 16;
        return BitConverter.UInt32BitsToSingle(o);
    }

    private static Vector256<uint> HalfBitsToSingleBits(Vector256<uint> h)
    {
        Vector256<uint> o = Vector256.ShiftLeft(h & Vector256.Create(0x7FFFu), 13);
        Vector256<uint> exponent = o & Vector256.Create(ExponentMask);
        o += Vector256.Create(ExponentRebias);
        Vector256<uint> isInfOrNan = Vector256.Equals(exponent, Vector256.Create(ExponentMask));
        o += isInfOrNan & Vector256.Create(ExponentRebias);
        Vector256<uint> renormalised = (Vector256.AsSingle(o + Vector256.Create(1u << 23))
            - Vector256.AsSingle(Vector256.Create(ZeroOrSubnormalMagicBits))).AsUInt32();
        o = Vector256.ConditionalSelect(Vector256.Equals(exponent, Vector256<uint>.Zero), renormalised, o);
        return o | Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
    }
}
