using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Accounts;

/// <summary>A token as its owner sees it: never the secret, which is shown once at creation.</summary>
public sealed record TokenInfo(Guid Id, string Name, TokenKind Kind, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? LastUsedAt);

/// <summary>A freshly issued token: <see cref="Secret"/> exists only in this object and in the reply.</summary>
public sealed record IssuedToken(TokenInfo Info, string Secret);

/// <summary>The account a valid token belongs to.</summary>
public sealed record TokenPrincipal(Guid TokenId, TokenKind Kind, DateTimeOffset ExpiresAt, Guid UserId, string UserName, bool IsAdmin);

/// <summary>Issues, checks, lists and revokes bearer tokens.</summary>
public sealed class TokenService(PlatformDbContext db, TimeProvider time, IOptionsMonitor<AccountsOptions> options)
{
    /// <summary>Every token starts with this, so secret scanners and people can recognise one.</summary>
    public const string Prefix = "oss_";

    private const int MaxNameLength = 100;

    // LastUsedAt is for the user's information; writing it on every call would turn reads into writes.
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<IssuedToken> IssueLoginTokenAsync(Guid userId, string client, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return await IssueAsync(userId, TokenKind.Login, client, now + options.CurrentValue.LoginTokenLifetime, cancellationToken);
    }

    public async Task<IssuedToken> CreatePersonalTokenAsync(Guid userId, string? name, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var trimmed = name?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            throw PlatformException.Invalid("Give the token a name, so you can tell it apart later.", "name");
        }

        if (trimmed.Length > MaxNameLength || trimmed.Any(char.IsControl))
        {
            throw PlatformException.Invalid($"A token name is at most {MaxNameLength} printable characters.", "name");
        }

        var now = time.GetUtcNow();
        var max = options.CurrentValue.MaxPersonalTokenLifetime;
        var expiry = expiresAt ?? now + TimeSpan.FromDays(30);
        if (expiry <= now)
        {
            throw PlatformException.Invalid("The expiry date must be in the future.", "expiresAt");
        }

        if (expiry > now + max)
        {
            throw PlatformException.Invalid($"A personal token may last at most {max.TotalDays:0} days.", "expiresAt");
        }

        var exists = await db.AccessTokens.AnyAsync(
            t => t.UserId == userId && t.Kind == TokenKind.Personal && t.Name == trimmed && t.RevokedAt == null && t.ExpiresAt > now,
            cancellationToken);
        if (exists)
        {
            throw PlatformException.Conflict($"You already have a token named '{trimmed}'.", "name");
        }

        return await IssueAsync(userId, TokenKind.Personal, trimmed, expiry.ToUniversalTime(), cancellationToken);
    }

    /// <summary>A token the platform gives a compute session or job, lasting as long as it runs (see <see cref="SetExpiryAsync"/>).</summary>
    public Task<IssuedToken> IssueServiceTokenAsync(Guid userId, string name, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        IssueAsync(userId, TokenKind.Service, name, expiresAt, cancellationToken);

    /// <summary>Moves a service token's expiry (a session was extended).</summary>
    public async Task SetExpiryAsync(Guid tokenId, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        await db.AccessTokens.Where(t => t.Id == tokenId && t.Kind == TokenKind.Service && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAt, expiresAt), cancellationToken);

    /// <summary>The account behind a token, or null if the token is unknown, expired, revoked or its account inactive.</summary>
    public async Task<TokenPrincipal?> ValidateAsync(string? secret, CancellationToken cancellationToken)
    {
        if (!LooksLikeToken(secret))
        {
            return null;
        }

        var hash = Hash(secret!);
        return await ValidateAsync(db.AccessTokens.Where(t => t.Hash == hash), cancellationToken);
    }

    /// <summary>The account behind a token id (the dashboard cookie carries the id of its login token).</summary>
    public Task<TokenPrincipal?> ValidateByIdAsync(Guid tokenId, CancellationToken cancellationToken) =>
        ValidateAsync(db.AccessTokens.Where(t => t.Id == tokenId), cancellationToken);

    private async Task<TokenPrincipal?> ValidateAsync(IQueryable<AccessToken> match, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = await match.Include(t => t.User).FirstOrDefaultAsync(cancellationToken);
        if (token is null || !token.IsValidAt(now) || token.User is not { Status: UserStatus.Active } user)
        {
            return null;
        }

        await TouchAsync(token, now, cancellationToken);
        return new TokenPrincipal(token.Id, token.Kind, token.ExpiresAt, user.Id, user.UserName, user.IsAdmin);
    }

    public async Task<IReadOnlyList<TokenInfo>> ListPersonalTokensAsync(Guid userId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var tokens = await db.AccessTokens.AsNoTracking()
            .Where(t => t.UserId == userId && t.Kind == TokenKind.Personal && t.RevokedAt == null && t.ExpiresAt > now)
            .OrderBy(t => t.CreatedAt)
            .ToListAsync(cancellationToken);
        return tokens.Select(ToInfo).ToList();
    }

    /// <summary>Revokes one of the user's tokens. Someone else's token id answers the same as an unknown one.</summary>
    public async Task RevokeAsync(Guid userId, Guid tokenId, CancellationToken cancellationToken)
    {
        var token = await db.AccessTokens.FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == userId && t.RevokedAt == null, cancellationToken)
            ?? throw PlatformException.NotFound("No such token.");
        token.RevokedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Revokes a token by its secret (Keystone's DELETE /tokens). Returns false if it was not valid.</summary>
    public async Task<bool> RevokeSecretAsync(string? secret, CancellationToken cancellationToken)
    {
        if (!LooksLikeToken(secret))
        {
            return false;
        }

        var hash = Hash(secret!);
        var token = await db.AccessTokens.FirstOrDefaultAsync(t => t.Hash == hash && t.RevokedAt == null, cancellationToken);
        if (token is null)
        {
            return false;
        }

        token.RevokedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    public async Task RevokeByIdAsync(Guid tokenId, CancellationToken cancellationToken) =>
        await db.AccessTokens.Where(t => t.Id == tokenId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, time.GetUtcNow()), cancellationToken);

    /// <summary>SHA-256 of the token text, lower-case hex.</summary>
    public static string Hash(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static bool LooksLikeToken(string? secret) =>
        secret is { Length: > 8 and <= 256 } && secret.StartsWith(Prefix, StringComparison.Ordinal);

    private async Task<IssuedToken> IssueAsync(Guid userId, TokenKind kind, string name, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var secret = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var token = new AccessToken
        {
            Id = Guid.CreateVersion7(),
            UserId = userId,
            Kind = kind,
            Name = name.Length > MaxNameLength ? name[..MaxNameLength] : name,
            Hash = Hash(secret),
            Prefix = secret[..(Prefix.Length + 4)],
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = expiresAt,
        };
        db.AccessTokens.Add(token);
        await db.SaveChangesAsync(cancellationToken);
        return new IssuedToken(ToInfo(token), secret);
    }

    private async Task TouchAsync(AccessToken token, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (token.LastUsedAt is { } last && now - last < LastUsedResolution)
        {
            return;
        }

        await db.AccessTokens.Where(t => t.Id == token.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), cancellationToken);
    }

    private static TokenInfo ToInfo(AccessToken t) => new(t.Id, t.Name, t.Kind, t.Prefix, t.CreatedAt, t.ExpiresAt, t.LastUsedAt);
}
