using System.ComponentModel.DataAnnotations;

namespace Vocab.Admin.DeadLetters;

/// <summary>Where vocabctl finds the worker's dead letters: <c>ConnectionStrings:RabbitMq</c> and <c>Worker:QueueName</c>, as the worker reads them.</summary>
public sealed class DeadLetterQueueOptions : IValidatableObject
{
    /// <summary>The worker's section; vocabctl reads only its queue name.</summary>
    public const string SectionName = "Worker";

    /// <summary>From <c>ConnectionStrings:RabbitMq</c>.</summary>
    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is required.")]
    public string ConnectionString { get; set; } = "";

    /// <summary>The worker's input queue; its dead letters are on <c>&lt;queue&gt;_error</c> and <c>_refused</c>.</summary>
    [Required(ErrorMessage = "Worker:QueueName is required.")]
    public string QueueName { get; set; } = Messaging.QueueNames.DefaultInput;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(ConnectionString) && !Uri.TryCreate(ConnectionString, UriKind.Absolute, out _))
            yield return new ValidationResult("ConnectionStrings:RabbitMq is not an absolute address (e.g. amqp://vocab-ops:password@localhost:5672/).");
    }
}
