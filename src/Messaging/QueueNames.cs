using System.Globalization;

namespace Vocab.Messaging;

/// <summary>
/// The names of the worker's queues, in one place for the worker, the bridge and vocabctl. Publishers send to the input
/// queue's exchange of the same name; every other queue is the input queue's name with a suffix.
/// </summary>
public static class QueueNames
{
    /// <summary>The input queue (and the exchange publishers send to) unless <c>Worker:QueueName</c> / <c>Bridge:QueueName</c> say otherwise.</summary>
    public const string DefaultInput = "generate-vocabulary";

    /// <summary>Failures a proven caller's message met, scrubbed and signed: vocabctl lists and replays them.</summary>
    public const string ErrorSuffix = "_error";

    /// <summary>Credential and permission refusals (metadata only), bounded.</summary>
    public const string RefusedSuffix = "_refused";

    /// <summary>Messages of a type no consumer handles, scrubbed.</summary>
    public const string SkippedSuffix = "_skipped";

    /// <summary>Where the broker dead-letters the input queue's expired and rejected messages; only the worker reads it.</summary>
    public const string QuarantineSuffix = "_quarantine";

    /// <summary>The start of a delay queue's suffix; the step in whole seconds and <c>s</c> follow.</summary>
    public const string DelaySuffix = "_delay_";

    /// <summary><c>&lt;input&gt;_error</c>.</summary>
    public static string Error(string input) => input + ErrorSuffix;

    /// <summary><c>&lt;input&gt;_refused</c>.</summary>
    public static string Refused(string input) => input + RefusedSuffix;

    /// <summary><c>&lt;input&gt;_skipped</c>.</summary>
    public static string Skipped(string input) => input + SkippedSuffix;

    /// <summary><c>&lt;input&gt;_quarantine</c>.</summary>
    public static string Quarantine(string input) => input + QuarantineSuffix;

    /// <summary><c>&lt;input&gt;_delay_&lt;seconds&gt;s</c>: the delay queue of one step.</summary>
    public static string Delay(string input, TimeSpan step) =>
        input + DelaySuffix + ((int)step.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
}
