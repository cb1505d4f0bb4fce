namespace InseqNative.Bench;

public sealed record BenchSettings(string Shape, int Sequence, int Batch, int Repeats, int Threads, Device Device,
    int GemmSize);
