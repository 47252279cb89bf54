using System.Diagnostics.Metrics;

namespace Vocab.Authentication;

/// <summary>Counts authentication outcomes by method and reason (meter <c>Vocab.Authentication</c>).</summary>
public sealed class AuthenticationMetrics
{
    /// <summary>The meter's name, for OpenTelemetry registration.</summary>
    public const string MeterName = "Vocab.Authentication";

    private readonly Counter<long> _outcomes;

    /// <summary>Creates the instruments on the host's meter factory.</summary>
    public AuthenticationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _outcomes = meter.CreateCounter<long>("vocab.authentication.outcomes", description: "Credential checks by method and outcome");
    }

    /// <summary>Counts one check.</summary>
    public void Record(AuthenticationResult result) =>
        _outcomes.Add(1, new KeyValuePair<string, object?>("method", result.Method),
            new KeyValuePair<string, object?>("outcome", result.FailureReason ?? "success"));
}
