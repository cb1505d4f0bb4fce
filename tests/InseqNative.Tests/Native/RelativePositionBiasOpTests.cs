namespace InseqNative.Tests.Native;

/// <summary>
/// T5's relative position bias (inq_op_run "relative_position_bias") against a port of Hugging Face's
/// T5Attention._relative_position_bucket with torch's float32 arithmetic: exact buckets, bidirectional (encoder) and
/// causal (decoder), query offsets (cached decoding) and distances beyond max_distance; plus hand-computed buckets.
/// </summary>
public class RelativePositionBiasOpTests
{
    /// <summary>Hugging Face's bucket of one relative position (key - query); every float step as torch takes it.</summary>
    static int Bucket(int relativePosition, bool bidirectional, int numBuckets, int maxDistance)
    {
        var ret = 0;
        var n = numBuckets;
        var rp = relativePosition;
        if (bidirectional)
        {
            n /= 2;
            if (rp > 0) ret += n;
            rp = Math.Abs(rp);
        }
        else
        {
            rp = -Math.Min(rp, 0);
        }
        var maxExact = n / 2;
        if (rp < maxExact) return ret + rp;
        // torch.log(rp.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact):
        // float32 tensor ops with the Python scalars as float32 operands, then .to(torch.long) truncates.
        var large = MathF.Log((float)rp / maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (n - maxExact);
        return ret + (int)Math.Min(maxExact + (long)large, n - 1);
    }

    /// <summary>A table whose entry for (bucket, head) is 100 * bucket + head, so the output names its bucket.</summary>
    static float[] Table(int buckets, int h)
    {
        var t = new float[buckets * h];
        for (var k = 0; k < buckets; k++)
        for (var hi = 0; hi < h; hi++)
            t[k * h + hi] = 100 * k + hi;
        return t;
    }

    static float[] Run(float[] table, int h, int tq, int tk, int qOffset, bool bidirectional, int buckets, int maxDistance)
    {
        var o = new float[h * tq * tk];
        NativeOps.Run("relative_position_bias", [h, tq, tk, qOffset, bidirectional ? 1 : 0, buckets, maxDistance],
            [table], [o]);
        return o;
    }

    [Theory]
    [InlineData(true, 32, 128, 0)]   // T5 encoder
    [InlineData(false, 32, 128, 0)]  // T5 decoder
    [InlineData(false, 32, 128, 9)]  // decoder step at position 9
    [InlineData(true, 8, 20, 4)]
    [InlineData(false, 16, 40, 150)]
    public void Buckets_match_hugging_faces_function(bool bidirectional, int buckets, int maxDistance, int qOffset)
    {
        const int h = 3, tq = 6, tk = 300; // keys far beyond max_distance
        var table = NativeOps.Random(buckets * h, 70);
        var o = Run(table, h, tq, tk, qOffset, bidirectional, buckets, maxDistance);
        for (var hi = 0; hi < h; hi++)
        for (var i = 0; i < tq; i++)
        for (var j = 0; j < tk; j++)
        {
            var bucket = Bucket(j - (i + qOffset), bidirectional, buckets, maxDistance);
            Assert.True(table[bucket * h + hi] == o[(hi * tq + i) * tk + j],
                $"h {hi} query {i} key {j}: got {o[(hi * tq + i) * tk + j]}, bucket {bucket} holds {table[bucket * h + hi]}");
        }
    }

    [Fact]
    public void Hand_computed_buckets_of_t5s_defaults()
    {
        // num_buckets 32, max_distance 128: per sign 16 buckets, 8 exact. One query at offset 200 sees keys 0..400,
        // i.e. relative positions -200..200.
        const int h = 2, offset = 200;
        var o = Run(Table(32, h), h, 1, 2 * offset + 1, offset, true, 32, 128);
        int BucketOf(int rp) => (int)(o[rp + offset] / 100);
        // -1 -> 1; 1 -> 16 + 1; 7 -> 16 + 7; 8 -> 16 + 8 + int(log(1) / log(16) * 8) = 24;
        // 20 -> 16 + 8 + int(log(2.5) / log(16) * 8 = 2.64) = 26; 100 -> 16 + 8 + int(7.29) = 31;
        // 200 -> 16 + min(8 + int(9.29), 15) = 31; -200 -> min(17, 15) = 15.
        int[] rps = [-1, 1, 7, 8, 20, 100, 200, -200];
        int[] expected = [1, 17, 23, 24, 26, 31, 31, 15];
        Assert.Equal(expected, rps.Select(BucketOf).ToArray());
        Assert.Equal(1f, o[(1 * 1 + 0) * (2 * offset + 1) + offset - 1] - 100 * BucketOf(-1)); // head 1 column
        // Causal (decoder): future keys are bucket 0; -5 -> 5; -20 -> 16 + int(log(1.25) / log(8) * 16 = 1.72) = 17.
        var c = Run(Table(32, h), h, 1, 2 * offset + 1, offset, false, 32, 128);
        int CausalOf(int rp) => (int)(c[rp + offset] / 100);
        Assert.Equal(new[] { 0, 0, 5, 16, 17, 30, 31 }, new[] { 1, 200, -5, -16, -20, -100, -200 }.Select(CausalOf).ToArray());
    }
}
