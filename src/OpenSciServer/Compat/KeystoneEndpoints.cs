using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compat;

// The Keystone v3 password body, as SciScript sends it:
// {"auth":{"identity":{"password":{"user":{"name":..,"password":..}}}}}
public sealed record KeystoneAuthRequest([property: JsonPropertyName("auth")] KeystoneAuth? Auth);

public sealed record KeystoneAuth([property: JsonPropertyName("identity")] KeystoneIdentity? Identity);

public sealed record KeystoneIdentity([property: JsonPropertyName("password")] KeystonePassword? Password);

public sealed record KeystonePassword([property: JsonPropertyName("user")] KeystoneUserCredentials? User);

public sealed record KeystoneUserCredentials(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("password")] string? Password);

public sealed record KeystoneTokenResponse([property: JsonPropertyName("token")] KeystoneToken Token);

public sealed record KeystoneToken(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("methods")] string[] Methods,
    [property: JsonPropertyName("user")] KeystoneUser User,
    [property: JsonPropertyName("issued_at")] string? IssuedAt,
    [property: JsonPropertyName("expires_at")] string ExpiresAt);

public sealed record KeystoneUser(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("domain")] KeystoneDomain Domain);

public sealed record KeystoneDomain([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("name")] string Name);

/// <summary>SciServer's login-portal token routes (Keystone v3 shaped), adapters onto the account and token services.</summary>
public static class KeystoneEndpoints
{
    public const string SubjectTokenHeader = "X-Subject-Token";

    private static readonly KeystoneDomain DefaultDomain = new("default", "Default");

    public static IEndpointRouteBuilder MapKeystoneEndpoints(this IEndpointRouteBuilder app)
    {
        var tokens = app.MapGroup("/login-portal/keystone/v3/tokens").WithTags("SciServer: Authentication").RequireCors(PlatformCors.Api).AllowAnonymous();
        tokens.MapPost("", LoginAsync).WithName("KeystoneLogin")
            .WithSummary("Password login; the token is in the X-Subject-Token header and the body.");
        tokens.MapGet("{**token}", GetTokenAsync).WithName("KeystoneGetToken")
            .WithSummary("Who a token belongs to and when it expires (404 if invalid).");
        tokens.MapDelete("", RevokeAsync).WithName("KeystoneRevoke")
            .WithSummary("Revoke the token named in the X-Subject-Token header.");
        return app;
    }

    private static async Task<Ok<KeystoneTokenResponse>> LoginAsync(
        KeystoneAuthRequest? request, HttpContext context, AccountService accounts, TokenService tokens, CancellationToken ct)
    {
        var credentials = request?.Auth?.Identity?.Password?.User
            ?? throw PlatformException.Invalid("Expected a Keystone v3 password body: {\"auth\":{\"identity\":{\"password\":{\"user\":{\"name\":...,\"password\":...}}}}}.");
        var user = await accounts.AuthenticateAsync(credentials.Name, credentials.Password, context.Connection.RemoteIpAddress?.ToString(), ct);
        var issued = await tokens.IssueLoginTokenAsync(user.Id, "keystone", ct);
        context.Response.Headers[SubjectTokenHeader] = issued.Secret;
        return TypedResults.Ok(new KeystoneTokenResponse(new KeystoneToken(
            issued.Secret, ["password"], new KeystoneUser(user.Id.ToString(), user.UserName, DefaultDomain),
            Format(issued.Info.CreatedAt), Format(issued.Info.ExpiresAt))));
    }

    private static async Task<Ok<KeystoneTokenResponse>> GetTokenAsync(string? token, TokenService tokens, CancellationToken ct)
    {
        // SciScript appends a slash to the base URL, so the token may arrive as "/abc" or "abc/".
        var secret = token?.Trim('/');
        var principal = await tokens.ValidateAsync(secret, ct)
            ?? throw PlatformException.NotFound("The token is invalid, expired or revoked.");
        return TypedResults.Ok(new KeystoneTokenResponse(new KeystoneToken(
            null, ["password"], new KeystoneUser(principal.UserId.ToString(), principal.UserName, DefaultDomain),
            null, Format(principal.ExpiresAt))));
    }

    private static async Task<NoContent> RevokeAsync(HttpContext context, TokenService tokens, CancellationToken ct)
    {
        var secret = context.Request.Headers[SubjectTokenHeader].ToString();
        if (!await tokens.RevokeSecretAsync(secret, ct))
        {
            throw PlatformException.NotFound("The token is invalid, expired or revoked.");
        }

        return TypedResults.NoContent();
    }

    // Keystone's own format: 2026-11-25T17:00:00.000000Z
    private static string Format(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
