namespace Vocab.Authentication;

/// <summary>The roles a key or token can carry.</summary>
public static class Roles
{
    /// <summary>A regular caller.</summary>
    public const string User = "user";

    /// <summary>A paying caller.</summary>
    public const string Premium = "premium";

    /// <summary>An operator.</summary>
    public const string Admin = "admin";

    /// <summary>An operator of the ops console only: no plan maps to it, so the worker refuses its vocabulary requests.</summary>
    public const string Ops = "ops";

    /// <summary>Every role vocabctl can issue.</summary>
    public static readonly IReadOnlyList<string> All = [User, Premium, Admin, Ops];
}
