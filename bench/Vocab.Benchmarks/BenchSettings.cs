namespace Vocab.Benchmarks;

/// <summary>The fixed parameters of a benchmark run, printed in the report.</summary>
public sealed record BenchSettings(int Messages, int Rounds, int PrefetchCount, int ConcurrentMessageLimit, int HttpRequests, int HttpConcurrency, int RoundTrips,
    int FloodCredentials, int FloodAddresses, int LlmMessages)
{
    public static BenchSettings FromArgs(string[] args)
    {
        int Arg(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var value) ? value : fallback;
        }
        return new BenchSettings(Arg("--messages", 500), Arg("--rounds", 5), 32, 16, Arg("--http-requests", 400), 16, Arg("--round-trips", 300),
            Arg("--flood", 100_000), Arg("--flood-addresses", 1_000), Arg("--llm-messages", 1_000));
    }
}
