using System.CommandLine;
using InseqNative.Cli.Commands;

namespace InseqNative.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Entry point for tests: runs one command line with the given output writers.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("inseq — attribution and step scores for Hugging Face text-generation models, natively");
        root.Subcommands.Add(GenerateCommand.Create(stdout, stderr));
        root.Subcommands.Add(AttributeCommand.Create(stdout, stderr));
        root.Subcommands.Add(ShowCommand.Create(stdout, stderr));
        root.Subcommands.Add(BenchCommand.Create(stdout, stderr));
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e)
        {
            return CliErrors.Report(e, stderr);
        }
    }
}
