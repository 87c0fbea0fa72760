using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compat;

/// <summary>
/// SciScript's configuration file (<c>sciscript.json</c>): flat JSON of this server's URLs. Offered for
/// download on the dashboard and written into every compute session and job.
/// </summary>
public static class SciScriptConfig
{
    public const string KeystoneTokenPath = "/home/idies/keystone.token";

    /// <summary>The base URL clients should use: the configured public URL, else the request's own.</summary>
    public static string BaseUrl(HttpRequest request, IOptions<PlatformOptions> options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value.PublicBaseUrl;
        return string.IsNullOrWhiteSpace(configured)
            ? $"{request.Scheme}://{request.Host}{request.PathBase}"
            : configured.TrimEnd('/');
    }

    public static IReadOnlyDictionary<string, string> For(string baseUrl) => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["AuthenticationURL"] = baseUrl + "/login-portal/keystone/v3/tokens",
        ["RacmApiURL"] = baseUrl + "/racm",
        ["CasJobsRESTUri"] = baseUrl + "/CasJobs/RestApi",
        ["SkyServerWSurl"] = baseUrl + "/SkyServerWS",
        ["SciqueryURL"] = baseUrl + "/sciquery",
        ["ComputeUrl"] = baseUrl + "/compute",
        ["KeystoneTokenPath"] = KeystoneTokenPath,
        ["DataRelease"] = "DR1",
    };
}
