using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace OpenSciServer.Accounts;

public enum TokenKind
{
    /// <summary>Issued by a password login (dashboard or Keystone); revoked by logout.</summary>
    Login = 0,
    /// <summary>Created by the user, named, with an expiry of their choosing.</summary>
    Personal = 1,
    /// <summary>Issued by the platform to a compute session or job for as long as it runs.</summary>
    Service = 2,
}

/// <summary>
/// A bearer token. Only the SHA-256 of the secret is stored: tokens are 256 random bits, so a fast
/// hash is as good as a slow one and keeps every API call cheap.
/// </summary>
public sealed class AccessToken
{
    public Guid Id { get; set; }

    public Guid UserId { get; set; }

    public User? User { get; set; }

    public TokenKind Kind { get; set; }

    /// <summary>A label the user chose (personal tokens) or the client that asked (login tokens).</summary>
    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the token text.</summary>
    public required string Hash { get; set; }

    /// <summary>The first characters of the token, shown so a user can tell tokens apart.</summary>
    public required string Prefix { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public bool IsValidAt(DateTimeOffset now) => RevokedAt is null && ExpiresAt > now;
}

internal sealed class AccessTokenConfiguration : IEntityTypeConfiguration<AccessToken>
{
    public void Configure(EntityTypeBuilder<AccessToken> builder)
    {
        builder.ToTable("access_tokens");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Name).HasMaxLength(100).IsRequired();
        builder.Property(t => t.Hash).HasMaxLength(64).IsRequired();
        builder.HasIndex(t => t.Hash).IsUnique();
        builder.Property(t => t.Prefix).HasMaxLength(16).IsRequired();
        builder.HasIndex(t => new { t.UserId, t.Kind });
        builder.HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
