using InseqNative.Cli;

namespace InseqNative.Tests.Cli;

/// <summary>Runs one `inseq` command line in-process and captures its exit code, stdout and stderr.</summary>
static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
