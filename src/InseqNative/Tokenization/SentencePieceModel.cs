using System.Text;
using Google.Protobuf;
using Microsoft.ML.Tokenizers;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// A SentencePiece model file (<c>spiece.model</c>, <c>source.spm</c>, <c>sentencepiece.bpe.model</c>; Unigram or
/// BPE) used the way Python's <c>sp_model.encode(text, out_type=str)</c> and <c>sp_model.decode(pieces)</c> use
/// it: text → pieces (strings) and pieces → text. Ids are the model's own; wrappers map pieces to model ids
/// (through vocab.json for Marian and M2M100).
/// <para>
/// Encoding runs on Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/>, with three fixes verified
/// against the fixtures: (1) a model without a BOS piece (trainer_spec.bos_id = -1, as T5 and Marian ship) crashes
/// its Unigram constructor, so the proto is rewritten with bos_id set to the unknown piece (BOS is never added);
/// (2) its BPE path ignores the normalizer's precompiled charsmap (nmt_nfkc), so BPE text is normalized by a
/// Unigram twin of the same proto first; (3) SentencePiece merges a run of unknown pieces into one, which
/// Microsoft.ML.Tokenizers does not.
/// </para>
/// </summary>
internal sealed class SentencePieceModel
{
    /// <summary>SentencePiece's ModelProto.SentencePiece.Type.</summary>
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    private const char Underline = '\u2581'; // ▁
    private const string DefaultUnknownSurface = " \u2047 "; // " ⁇ "

    private readonly string[] _pieces;
    private readonly PieceType[] _types;
    private readonly Dictionary<string, int> _pieceToId;
    /// <summary>Unigram model of the file (Unigram files), or a Unigram twin used only to normalize (BPE files).</summary>
    private readonly SentencePieceTokenizer _unigram;
    private readonly SentencePieceTokenizer? _bpe;
    private readonly string _unknownSurface;

    public string FilePath { get; }
    public bool IsBpe => _bpe is not null;
    public int UnknownId { get; }
    public string NormalizerName { get; }
    public bool AddDummyPrefix { get; }
    public bool ByteFallback { get; }
    public int PieceCount => _pieces.Length;

    private SentencePieceModel(string path, ParsedProto proto, SentencePieceTokenizer unigram, SentencePieceTokenizer? bpe)
    {
        FilePath = path;
        _pieces = proto.Pieces.ToArray();
        _types = proto.Types.ToArray();
        _pieceToId = new Dictionary<string, int>(_pieces.Length, StringComparer.Ordinal);
        for (int i = 0; i < _pieces.Length; i++)
            _pieceToId.TryAdd(_pieces[i], i);
        _unigram = unigram;
        _bpe = bpe;
        UnknownId = proto.UnkId;
        NormalizerName = proto.NormalizerName;
        AddDummyPrefix = proto.AddDummyPrefix;
        ByteFallback = proto.ByteFallback;
        _unknownSurface = proto.UnknownSurface ?? DefaultUnknownSurface;
    }

    public static SentencePieceModel Load(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new MissingModelFileException(Path.GetDirectoryName(full) ?? full, $"{Path.GetFileName(full)} not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(full, $"cannot read the file: {e.Message}", e);
        }
        return FromBytes(bytes, full);
    }

    public static SentencePieceModel FromBytes(byte[] bytes, string path)
    {
        ParsedProto proto;
        try
        {
            proto = ParsedProto.Read(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelLoadException(path, $"not a SentencePiece model (protobuf error: {e.Message})", e);
        }
        if (proto.Pieces.Count == 0)
            throw new ModelLoadException(path, "the SentencePiece model has no pieces");
        if (proto.ModelType is not (1 or 2))
            throw new UnsupportedModelException(path,
                $"SentencePiece model type {proto.ModelType} ({ModelTypeName(proto.ModelType)}) is not supported (supported: unigram, bpe)");
        if (proto.UnkId < 0 || proto.UnkId >= proto.Pieces.Count || proto.Types[proto.UnkId] != PieceType.Unknown)
            throw new ModelLoadException(path, $"trainer_spec.unk_id {proto.UnkId} is not the model's unknown piece");
        if (proto.HasDenormalizerRules)
            throw new UnsupportedModelException(path, "SentencePiece denormalizer rules are not supported");

        SentencePieceTokenizer unigram, bpe;
        try
        {
            // The Unigram constructor indexes the vocabulary with bos_id; give it a valid one (never emitted).
            byte[] asUnigram = Rewrite(bytes, bosId: proto.BosId is >= 0 && proto.BosId < proto.Pieces.Count ? null : proto.UnkId,
                unigram: proto.ModelType != 1);
            unigram = SentencePieceTokenizer.Create(new MemoryStream(asUnigram), addBeginningOfSentence: false, addEndOfSentence: false);
            if (proto.ModelType == 1)
                return new SentencePieceModel(path, proto, unigram, null);
            byte[] asBpe = proto.BosId is >= 0 && proto.BosId < proto.Pieces.Count ? bytes : Rewrite(bytes, proto.UnkId, unigram: false);
            bpe = SentencePieceTokenizer.Create(new MemoryStream(asBpe), addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not InseqException)
        {
            throw new ModelLoadException(path, $"cannot build the SentencePiece tokenizer: {e.Message}", e);
        }
        return new SentencePieceModel(path, proto, unigram, bpe);
    }

    private static string ModelTypeName(int type) => type switch
    {
        1 => "unigram", 2 => "bpe", 3 => "word", 4 => "char", _ => "unknown",
    };

    public string IdToPiece(int id) => _pieces[id];
    public PieceType TypeOf(int id) => _types[id];
    public int? PieceToId(string piece) => _pieceToId.TryGetValue(piece, out int id) ? id : null;

    /// <summary><c>sp_model.encode(text, out_type=str)</c>: pieces of the normalized text, a run of unknown
    /// characters merged into one piece (its normalized surface), nothing for empty or all-whitespace text.</summary>
    public List<string> EncodeToPieces(string text)
    {
        var pieces = new List<string>();
        if (text.Length == 0)
            return pieces;
        IReadOnlyList<EncodedToken> tokens = _unigram.EncodeToTokens(text, out string? normalized,
            considerPreTokenization: true, considerNormalization: true);
        normalized ??= text;
        if (_bpe is not null)
        {
            if (normalized.Length == 0)
                return pieces;
            tokens = _bpe.EncodeToTokens(normalized, out _, considerPreTokenization: true, considerNormalization: false);
        }
        bool previousUnknown = false;
        foreach (EncodedToken token in tokens)
        {
            bool unknown = token.Id == UnknownId;
            // The piece of an unknown character is its normalized text, as SentencePiece reports it.
            string piece = unknown ? Slice(normalized, token.Offset) ?? token.Value : token.Value;
            if (unknown && previousUnknown)
                pieces[^1] += piece;
            else
                pieces.Add(piece);
            previousUnknown = unknown;
        }
        return pieces;
    }

    private static string? Slice(string text, Range range)
    {
        (int offset, int length) = range.GetOffsetAndLength(int.MaxValue);
        return offset >= 0 && length > 0 && offset + length <= text.Length ? text.Substring(offset, length) : null;
    }

    /// <summary>
    /// <c>sp_model.decode(pieces)</c>: control pieces vanish, the unknown piece becomes " ⁇ ", a piece the model lacks
    /// is copied as it is, byte pieces are joined into UTF-8 (one U+FFFD per bad byte), "▁" becomes a space, and
    /// the leading "▁" of the first piece that produces text is dropped.
    /// </summary>
    public string DecodePieces(IReadOnlyList<string> pieces)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        void FlushBytes()
        {
            if (bytes.Count == 0)
                return;
            text.Append(DecodeUtf8PerByte(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
            bytes.Clear();
        }
        foreach (string piece in pieces)
        {
            int? id = PieceToId(piece);
            if (id is { } byteId && _types[byteId] == PieceType.Byte && TryByte(piece, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            FlushBytes();
            if (id is not { } known)
            {
                text.Append(piece); // SentencePiece maps it to <unk> and returns the piece itself
                continue;
            }
            switch (_types[known])
            {
                case PieceType.Control:
                    continue;
                case PieceType.Unknown:
                    text.Append(_unknownSurface);
                    continue;
            }
            ReadOnlySpan<char> span = piece;
            if (text.Length == 0 && span.Length > 0 && span[0] == Underline)
                span = span[1..];
            text.Append(span.ToString().Replace(Underline, ' '));
        }
        FlushBytes();
        return text.ToString();
    }

    /// <summary>UTF-8 as SentencePiece decodes byte pieces: every byte that does not start a complete, valid
    /// sequence becomes one U+FFFD.</summary>
    internal static string DecodeUtf8PerByte(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append('\uFFFD');
                bytes = bytes[1..];
            }
        }
        return text.ToString();
    }

    /// <summary>Byte-fallback pieces are written "&lt;0xNN&gt;".</summary>
    internal static bool TryByte(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }

    // --- ModelProto (sentencepiece_model.proto) reading and rewriting, field numbers from that file ---

    private const int ProtoPieces = 1, ProtoTrainerSpec = 2, ProtoNormalizerSpec = 3, ProtoDenormalizerSpec = 5;
    private const int PieceText = 1, PieceTypeField = 3;
    private const int TrainerModelType = 3, TrainerByteFallback = 35, TrainerUnkId = 40, TrainerBosId = 41,
        TrainerUnkSurface = 44;
    private const int NormalizerName_ = 1, NormalizerCharsmap = 2, NormalizerAddDummyPrefix = 3, NormalizerRuleTsv = 6;

    private sealed class ParsedProto
    {
        public List<string> Pieces { get; } = [];
        public List<PieceType> Types { get; } = [];
        public int ModelType { get; private set; } = 1;
        public int UnkId { get; private set; }
        public int BosId { get; private set; } = 1;
        public bool ByteFallback { get; private set; }
        public string? UnknownSurface { get; private set; }
        public string NormalizerName { get; private set; } = "nmt_nfkc";
        public bool AddDummyPrefix { get; private set; } = true;
        public bool HasDenormalizerRules { get; private set; }

        public static ParsedProto Read(byte[] bytes)
        {
            var proto = new ParsedProto();
            var input = new CodedInputStream(bytes);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case ProtoPieces when IsBytes(tag):
                        proto.ReadPiece(input.ReadBytes());
                        break;
                    case ProtoTrainerSpec when IsBytes(tag):
                        proto.ReadTrainerSpec(input.ReadBytes());
                        break;
                    case ProtoNormalizerSpec when IsBytes(tag):
                        proto.ReadNormalizerSpec(input.ReadBytes());
                        break;
                    case ProtoDenormalizerSpec when IsBytes(tag):
                        proto.HasDenormalizerRules = HasRules(input.ReadBytes());
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
            return proto;
        }

        private void ReadPiece(ByteString message)
        {
            string piece = "";
            var type = PieceType.Normal;
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case PieceText when IsBytes(tag): piece = input.ReadString(); break;
                    case PieceTypeField: type = (PieceType)input.ReadEnum(); break;
                    default: input.SkipLastField(); break;
                }
            }
            Pieces.Add(piece);
            Types.Add(type);
        }

        private void ReadTrainerSpec(ByteString message)
        {
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case TrainerModelType: ModelType = input.ReadEnum(); break;
                    case TrainerByteFallback: ByteFallback = input.ReadBool(); break;
                    case TrainerUnkId: UnkId = input.ReadInt32(); break;
                    case TrainerBosId: BosId = input.ReadInt32(); break;
                    case TrainerUnkSurface when IsBytes(tag): UnknownSurface = input.ReadString(); break;
                    default: input.SkipLastField(); break;
                }
            }
        }

        private void ReadNormalizerSpec(ByteString message)
        {
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case NormalizerName_ when IsBytes(tag): NormalizerName = input.ReadString(); break;
                    case NormalizerAddDummyPrefix: AddDummyPrefix = input.ReadBool(); break;
                    default: input.SkipLastField(); break;
                }
            }
        }

        /// <summary>A denormalizer that changes text: a precompiled charsmap or rules.</summary>
        private static bool HasRules(ByteString message)
        {
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) is NormalizerCharsmap or NormalizerRuleTsv && IsBytes(tag))
                {
                    if (input.ReadBytes().Length > 0)
                        return true;
                }
                else
                {
                    input.SkipLastField();
                }
            }
            return false;
        }
    }

    private static bool IsBytes(uint tag) => WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;

    /// <summary>The proto with trainer_spec.bos_id replaced (when <paramref name="bosId"/> is given) and, with
    /// <paramref name="unigram"/>, trainer_spec.model_type set to UNIGRAM; every other field copied byte for byte.</summary>
    private static byte[] Rewrite(byte[] model, int? bosId, bool unigram)
    {
        if (bosId is null && !unigram)
            return model;
        var input = new CodedInputStream(model);
        using var stream = new MemoryStream(model.Length + 16);
        var output = new CodedOutputStream(stream);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == ProtoTrainerSpec && IsBytes(tag))
            {
                byte[] spec = RewriteTrainerSpec(input.ReadBytes(), bosId, unigram);
                output.WriteTag(tag);
                output.WriteBytes(ByteString.CopyFrom(spec));
            }
            else
            {
                CopyField(tag, input, output);
            }
        }
        output.Flush();
        return stream.ToArray();
    }

    private static byte[] RewriteTrainerSpec(ByteString spec, int? bosId, bool unigram)
    {
        var input = spec.CreateCodedInput();
        using var stream = new MemoryStream(spec.Length + 16);
        var output = new CodedOutputStream(stream);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            if ((field == TrainerBosId && bosId is not null) || (field == TrainerModelType && unigram))
            {
                input.SkipLastField();
                continue;
            }
            CopyField(tag, input, output);
        }
        if (unigram)
        {
            output.WriteTag(TrainerModelType, WireFormat.WireType.Varint);
            output.WriteEnum(1);
        }
        if (bosId is { } bos)
        {
            output.WriteTag(TrainerBosId, WireFormat.WireType.Varint);
            output.WriteInt32(bos);
        }
        output.Flush();
        return stream.ToArray();
    }

    private static void CopyField(uint tag, CodedInputStream input, CodedOutputStream output)
    {
        output.WriteTag(tag);
        switch (WireFormat.GetTagWireType(tag))
        {
            case WireFormat.WireType.Varint: output.WriteUInt64(input.ReadUInt64()); break;
            case WireFormat.WireType.Fixed32: output.WriteFixed32(input.ReadFixed32()); break;
            case WireFormat.WireType.Fixed64: output.WriteFixed64(input.ReadFixed64()); break;
            case WireFormat.WireType.LengthDelimited: output.WriteBytes(input.ReadBytes()); break;
            default: throw new InvalidDataException($"unsupported wire type in field {WireFormat.GetTagFieldNumber(tag)}");
        }
    }
}
