using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Vocab.Messaging;
using Vocab.Authentication;
using Vocab.Failures;
using Vocab.Ops.Authentication;
using Vocab.Ops.Rendering;
using Vocab.Plans;
using Vocab.Security;
using Vocab.ServiceDefaults;

namespace Vocab.Ops.Extensions;

/// <summary>The console's services and pipeline, so tests host exactly what production runs.</summary>
public static class OpsExtensions
{
    public static WebApplicationBuilder AddVocabOps(this WebApplicationBuilder builder)
    {
        builder.AddVocabLogging();
        builder.AddFailureIngestion();
        builder.AddVocabPlans();
        builder.AddTransportSecurity("ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo", "Ops:ManagementUri", PlaintextRefusal.ServerUrls);
        var services = builder.Services;
        services.AddOptions<OpsOptions>().BindConfiguration(OpsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddHsts(options =>
        {
            options.MaxAge = TimeSpan.FromDays(365);
            options.ExcludedHosts.Clear();
        });
        services.AddSingleton(sp =>
        {
            var ops = sp.GetRequiredService<IOptions<OpsOptions>>().Value;
            return new FailedAuthenticationThrottle(ops.FailedSignInsPerMinute, ops.ThrottledAddressLimit, [], sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<OpsSignIn>();
        services.AddSingleton<OpsSessionValidator>();
        services.AddSingleton<ChartRenderer>();
        services.AddHttpClient<BrokerQueues>((sp, client) =>
        {
            var ops = sp.GetRequiredService<IOptions<OpsOptions>>().Value;
            client.BaseAddress = new Uri(ops.ManagementUri.TrimEnd('/') + "/");
            client.Timeout = TimeSpan.FromSeconds(5);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ops.ManagementUser}:{ops.ManagementPassword}")));
        }).ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
        {
            // The broker's certificate is checked against the same CA as its AMQPS listener (RabbitMq:CaCertificatePath).
            SslOptions = { RemoteCertificateValidationCallback = CertificateTrust.Validator(
                sp.GetRequiredService<IOptions<RabbitMqConnectionOptions>>().Value.CaCertificatePath, "RabbitMq:CaCertificatePath") },
        });

        services.AddAuthentication(OpsClaims.Scheme).AddCookie(OpsClaims.Scheme, options =>
        {
            options.Cookie.Name = "vocab-ops";
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.LoginPath = "/SignIn";
            options.AccessDeniedPath = "/Forbidden";
            options.SlidingExpiration = false;
            options.Events.OnValidatePrincipal = context =>
                context.HttpContext.RequestServices.GetRequiredService<OpsSessionValidator>().ValidateAsync(context);
        });
        services.AddOptions<CookieAuthenticationOptions>(OpsClaims.Scheme)
            .Configure<IOptions<OpsOptions>>((cookie, ops) => cookie.ExpireTimeSpan = ops.Value.SessionLifetime);
        services.AddAuthorizationBuilder().AddPolicy(OpsClaims.Policy, policy => policy.RequireRole(OpsClaims.Roles));
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "vocab-ops-antiforgery";
            options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.HeaderName = null;
        });
        services.AddRazorPages(options =>
        {
            options.Conventions.AuthorizeFolder("/", OpsClaims.Policy);
            options.Conventions.AllowAnonymousToPage("/SignIn");
            options.Conventions.AllowAnonymousToPage("/Forbidden");
        });
        return builder;
    }

    public static WebApplication UseVocabOps(this WebApplication app)
    {
        app.UseHsts();
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            // No script at all, no inline style, nothing from elsewhere; the SVG charts are drawn on the server.
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
                                            "frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            headers.CacheControl = "no-store";
            await next();
        });
        app.UseStatusCodePages();
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapRazorPages();
        return app;
    }
}
