namespace InseqNative.Cli.Commands;

/// <summary>One place that turns exceptions into a one-line message on stderr and an exit code.</summary>
static class CliErrors
{
    public const int UserError = 2;
    public const int InternalError = 3;

    public static int Report(Exception e, TextWriter stderr)
    {
        switch (e)
        {
            case InseqException:
                stderr.WriteLine($"error: {e.Message}");
                return UserError;
            case DllNotFoundException:
                stderr.WriteLine($"error: {e.Message}");
                return InternalError;
            default:
                stderr.WriteLine($"internal error ({e.GetType().Name}): {e.Message}");
                stderr.WriteLine(e.StackTrace);
                return InternalError;
        }
    }
}
