using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Vocab.HttpBridge.Extensions;

/// <summary>
/// Behind a TLS-terminating proxy, the client address and scheme come from <c>X-Forwarded-For</c> / <c>-Proto</c>, but
/// only from the proxies listed in <c>Bridge:TrustedProxies</c> (addresses or CIDR networks): anyone else could claim
/// any address and slip past the per-address throttle.
/// </summary>
public static class ForwardedHeadersExtensions
{
    public static WebApplicationBuilder AddForwardedHeadersFromTrustedProxies(this WebApplicationBuilder builder)
    {
        // Bridge:TrustedProxies is validated at start with the rest of BridgeOptions, naming the entry at fault.
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<BridgeOptions>>((options, bridge) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The defaults trust loopback; only what is configured is trusted here.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var entry in bridge.Value.TrustedProxies.Select(e => e.Trim()))
            {
                if (System.Net.IPNetwork.TryParse(entry, out var network))
                    options.KnownIPNetworks.Add(network);
                else if (IPAddress.TryParse(entry, out var address))
                    options.KnownProxies.Add(address);
                else
                    throw new InvalidOperationException($"Bridge:TrustedProxies has '{entry}', which is neither an IP address nor a CIDR network.");
            }
        });
        return builder;
    }
}
