using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Vocab.Messaging;

/// <summary>Registers what every process that talks to RabbitMQ shares.</summary>
public static class MessagingServiceCollectionExtensions
{
    /// <summary>Adds <see cref="RabbitMqConnectionOptions"/> (<c>RabbitMq:*</c>: cluster nodes, TLS files), validated at start.</summary>
    public static IHostApplicationBuilder AddRabbitMqConnection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RabbitMqConnectionOptions>().BindConfiguration(RabbitMqConnectionOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RabbitMqConnectionOptions>, RabbitMqConnectionOptionsValidator>();
        return builder;
    }
}
