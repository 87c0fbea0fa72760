namespace OpenSciServer.Authorization;

public static class AuthorizationSetup
{
    public static void AddResourceAuthorization(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Scoped: its answers are cached for one request, so a revocation is seen by the next one.
        builder.Services.AddScoped<AccessService>();
    }
}
