using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Accounts;

public sealed record RegisterRequest(string? Username, string? Email, string? Password);

public sealed record CreateUserRequest(string? Username, string? Email, string? Password);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

public sealed record SetAdminRequest(bool IsAdmin);

/// <summary>Either an absolute <c>ExpiresAt</c> or <c>ExpiresInDays</c>; neither means 30 days.</summary>
public sealed record CreateTokenRequest(string? Name, DateTimeOffset? ExpiresAt, int? ExpiresInDays);

/// <summary>The one time the token's secret is shown.</summary>
public sealed record CreatedTokenResponse(Guid Id, string Name, string Token, DateTimeOffset ExpiresAt);

public sealed record TokenResponse(Guid Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? LastUsedAt)
{
    public static TokenResponse From(TokenInfo t) => new(t.Id, t.Name, t.Prefix, t.CreatedAt, t.ExpiresAt, t.LastUsedAt);
}

/// <summary>The native account API (<c>/api/account</c>) and the admin user API (<c>/api/admin/users</c>).</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/api/account").WithTags("Account").RequireCors(PlatformCors.Api);
        account.MapPost("/register", RegisterAsync).AllowAnonymous().WithName("Register")
            .WithSummary("Register an account (when registration is open or needs approval).");
        var me = account.MapGroup("").RequireAuthorization();
        me.MapGet("/", GetAccountAsync).WithName("GetAccount").WithSummary("The calling user.");
        me.MapPost("/password", ChangePasswordAsync).WithName("ChangePassword").WithSummary("Change your password.");
        me.MapPost("/logout", LogoutAsync).WithName("Logout").WithSummary("Revoke the token (or dashboard login) this request used.");
        me.MapGet("/tokens", ListTokensAsync).WithName("ListTokens").WithSummary("Your personal access tokens.");
        me.MapPost("/tokens", CreateTokenAsync).WithName("CreateToken")
            .WithSummary("Create a personal access token.").WithDescription("The token text is in the reply once and is never shown again.");
        me.MapDelete("/tokens/{id:guid}", RevokeTokenAsync).WithName("RevokeToken").WithSummary("Revoke a personal access token.");

        var admin = app.MapGroup("/api/admin/users").WithTags("Admin").RequireAuthorization(PlatformAuth.AdminPolicy).RequireCors(PlatformCors.Api);
        admin.MapGet("/", ListUsersAsync).WithName("ListUsers").WithSummary("All accounts (admins only).");
        admin.MapPost("/", CreateUserAsync).WithName("CreateUser").WithSummary("Create an active account (admins only).");
        admin.MapGet("/{id:guid}", GetUserAsync).WithName("GetUser").WithSummary("One account (admins only).");
        admin.MapPost("/{id:guid}/approve", ApproveAsync)
            .WithName("ApproveUser").WithSummary("Approve a pending account.");
        admin.MapPost("/{id:guid}/enable", EnableAsync)
            .WithName("EnableUser").WithSummary("Re-enable a disabled account.");
        admin.MapPost("/{id:guid}/disable", (Guid id, ClaimsPrincipal u, AccountService s, CancellationToken ct) => SetStatusAsync(id, UserStatus.Disabled, u, s, ct))
            .WithName("DisableUser").WithSummary("Disable an account; its tokens stop working at once.");
        admin.MapPut("/{id:guid}/admin", SetAdminAsync).WithName("SetUserAdmin").WithSummary("Grant or take the admin role.");
        admin.MapDelete("/{id:guid}", DeleteUserAsync).WithName("DeleteUser").WithSummary("Delete an account.");
        return app;
    }

    private static async Task<Created<UserResponse>> RegisterAsync(RegisterRequest request, AccountService accounts, CancellationToken ct)
    {
        var user = await accounts.RegisterAsync(request.Username, request.Email, request.Password, ct);
        return TypedResults.Created("/api/account", UserResponse.From(user));
    }

    private static async Task<Ok<UserResponse>> GetAccountAsync(ClaimsPrincipal principal, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.FindAsync(principal.UserId(), ct)));

    private static async Task<NoContent> ChangePasswordAsync(ChangePasswordRequest request, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct)
    {
        await accounts.ChangePasswordAsync(principal.UserId(), request.CurrentPassword, request.NewPassword, principal.TokenId(), ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> LogoutAsync(HttpContext context, TokenService tokens, CancellationToken ct)
    {
        await CookieLogin.SignOutAsync(context, tokens, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<List<TokenResponse>>> ListTokensAsync(ClaimsPrincipal principal, TokenService tokens, CancellationToken ct) =>
        TypedResults.Ok((await tokens.ListPersonalTokensAsync(principal.UserId(), ct)).Select(TokenResponse.From).ToList());

    private static async Task<Created<CreatedTokenResponse>> CreateTokenAsync(CreateTokenRequest request, ClaimsPrincipal principal, TokenService tokens, TimeProvider time, CancellationToken ct)
    {
        var expiresAt = request.ExpiresAt;
        if (request.ExpiresInDays is { } days)
        {
            if (days is < 1 or > 3650)
            {
                throw PlatformException.Invalid("expiresInDays must be between 1 and 3650.", "expiresInDays");
            }

            expiresAt = time.GetUtcNow().AddDays(days);
        }

        var issued = await tokens.CreatePersonalTokenAsync(principal.UserId(), request.Name, expiresAt, ct);
        return TypedResults.Created("/api/account/tokens",
            new CreatedTokenResponse(issued.Info.Id, issued.Info.Name, issued.Secret, issued.Info.ExpiresAt));
    }

    private static async Task<NoContent> RevokeTokenAsync(Guid id, ClaimsPrincipal principal, TokenService tokens, CancellationToken ct)
    {
        await tokens.RevokeAsync(principal.UserId(), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<List<UserResponse>>> ListUsersAsync(AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok((await accounts.ListAsync(ct)).Select(UserResponse.From).ToList());

    private static async Task<Created<UserResponse>> CreateUserAsync(CreateUserRequest request, AccountService accounts, CancellationToken ct)
    {
        var user = await accounts.CreateAsync(request.Username, request.Email, request.Password, UserStatus.Active, isAdmin: false, ct);
        return TypedResults.Created($"/api/admin/users/{user.Id}", UserResponse.From(user));
    }

    private static async Task<Ok<UserResponse>> GetUserAsync(Guid id, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.FindAsync(id, ct)));

    private static async Task<Ok<UserResponse>> ApproveAsync(Guid id, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.ApproveAsync(principal.UserId(), id, ct)));

    private static async Task<Ok<UserResponse>> EnableAsync(Guid id, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.EnableAsync(principal.UserId(), id, ct)));

    private static async Task<Ok<UserResponse>> SetStatusAsync(Guid id, UserStatus status, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.SetStatusAsync(principal.UserId(), id, status, ct)));

    private static async Task<Ok<UserResponse>> SetAdminAsync(Guid id, [FromBody] SetAdminRequest request, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct) =>
        TypedResults.Ok(UserResponse.From(await accounts.SetAdminAsync(principal.UserId(), id, request.IsAdmin, ct)));

    private static async Task<NoContent> DeleteUserAsync(Guid id, ClaimsPrincipal principal, AccountService accounts, CancellationToken ct)
    {
        await accounts.DeleteAsync(principal.UserId(), id, ct);
        return TypedResults.NoContent();
    }
}

/// <summary>Dashboard login: a login token backs the cookie, so logout and revocation are server-side.</summary>
public static class CookieLogin
{
    public static async Task SignInAsync(HttpContext context, User user, TokenService tokens, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(tokens);
        var issued = await tokens.IssueLoginTokenAsync(user.Id, "dashboard", ct);
        var principal = PlatformAuth.CreatePrincipal(
            new TokenPrincipal(issued.Info.Id, TokenKind.Login, issued.Info.ExpiresAt, user.Id, user.UserName, user.IsAdmin),
            PlatformAuth.CookieScheme);
        await context.SignInAsync(PlatformAuth.CookieScheme, principal, new AuthenticationProperties
        {
            IsPersistent = true,
            ExpiresUtc = issued.Info.ExpiresAt,
            AllowRefresh = false,
        });
    }

    /// <summary>Revokes the token behind the current request (cookie login or bearer token) and clears the cookie.</summary>
    public static async Task SignOutAsync(HttpContext context, TokenService tokens, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(tokens);
        if (context.User.TokenId() is { } id)
        {
            await tokens.RevokeByIdAsync(id, ct);
        }

        await context.SignOutAsync(PlatformAuth.CookieScheme);
    }
}
