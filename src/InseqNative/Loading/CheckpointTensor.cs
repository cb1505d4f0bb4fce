namespace InseqNative.Loading;

/// <summary>A tensor located in a checkpoint: its entry and the (open) file that holds it.</summary>
public sealed record CheckpointTensor(SafetensorsFile File, SafetensorsTensorInfo Info)
{
    public string Name => Info.Name;

    public float[] ReadAsFloat32() => File.ReadAsFloat32(Info.Name);

    public void ReadAsFloat32(Span<float> destination) => File.ReadAsFloat32(Info.Name, destination);
}
