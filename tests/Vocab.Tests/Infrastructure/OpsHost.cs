using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Ops.Extensions;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>The real ops console (the production composition, ingestor included) over HTTPS on a loopback port, beside a test worker.</summary>
public sealed class OpsHost : IAsyncDisposable
{
    private OpsHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public Uri BaseAddress => new(App.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal));

    public IServiceProvider Services => App.Services;

    /// <summary>The console's configuration for a worker fixture: its broker (vhost) and database, the management API, the local CA's certificate.</summary>
    public static Dictionary<string, string?> Configuration(WorkerFixture fixture)
    {
        var configuration = fixture.WorkerConfiguration();
        var management = ServiceAddresses.RabbitMqManagement;
        var credentials = management.UserInfo.Split(':');
        configuration["Ops:ManagementUri"] = new UriBuilder(management) { UserName = "", Password = "" }.Uri.ToString();
        configuration["Ops:ManagementUser"] = Uri.UnescapeDataString(credentials[0]);
        configuration["Ops:ManagementPassword"] = Uri.UnescapeDataString(credentials[1]);
        configuration["Ops:VirtualHost"] = fixture.VirtualHost.Name;
        configuration["Kestrel:Certificates:Default:Path"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.pem");
        configuration["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.key");
        return configuration;
    }

    /// <summary>Starts the console; <paramref name="time"/> replaces its clock (key rotation's grace, revocation times).</summary>
    public static async Task<OpsHost> StartAsync(IDictionary<string, string?> configuration, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ApplicationName = typeof(OpsExtensions).Assembly.GetName().Name,
            ContentRootPath = RepositoryFiles.PathOf("src/Ops"),
            WebRootPath = RepositoryFiles.PathOf("src/Ops/wwwroot"),
        });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        if (time is not null)
            builder.Services.AddSingleton(time);
        builder.AddVocabOps();
        var app = builder.Build();
        app.UseVocabOps();
        await app.StartAsync();
        return new OpsHost(app);
    }

    /// <summary>An HTTP client that keeps cookies and trusts the local CA's certificate, for requests a browser would not make.</summary>
    public HttpClient Client(CookieContainer cookies) => new(new SocketsHttpHandler
    {
        CookieContainer = cookies,
        AllowAutoRedirect = false,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
