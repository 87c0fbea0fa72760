namespace OpenSciServer.Infrastructure;

/// <summary>
/// Cross-origin access to the APIs: any origin may call them with a token, never with cookies
/// (no AllowCredentials), and may read the headers clients need.
/// </summary>
public static class PlatformCors
{
    public const string Api = "api";

    public static void AddPlatformCors(this IServiceCollection services) =>
        services.AddCors(o => o.AddPolicy(Api, p => p
            .AllowAnyOrigin()
            .AllowAnyHeader()
            .AllowAnyMethod()
            .WithExposedHeaders("X-Subject-Token", "Retry-After", "ETag", "Content-Disposition", "Location")));
}
