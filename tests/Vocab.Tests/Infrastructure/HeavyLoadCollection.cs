namespace Vocab.Tests.Infrastructure;

/// <summary>
/// Tests that flood the services (the attack corpus, junk-credential floods) run alone, after the others: on a 2-core
/// machine their load would otherwise change the timing every other test sees.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyLoadCollection
{
    public const string Name = "heavy load";
}
