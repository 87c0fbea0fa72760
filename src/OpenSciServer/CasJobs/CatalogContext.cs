using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace OpenSciServer.CasJobs;

/// <summary>A catalog database users query (a CasJobs "context"): a DuckDB file in the embedded mode.</summary>
public sealed class CatalogContext
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    /// <summary>The DuckDB file, absolute.</summary>
    public required string Path { get; set; }

    /// <summary>Time limit of a quick query on this context; null: the platform's default (CasJobs:QuickQueryTimeout).</summary>
    public int? QuickQueryTimeoutSeconds { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// What a catalog's tables and columns mean: a description and, for columns, a unit (e.g. "deg",
/// "erg/s/cm^2"). <see cref="Column"/> is empty for the description of the table itself.
/// </summary>
public sealed class CatalogDescription
{
    public long Id { get; set; }

    public long ContextId { get; set; }

    public required string Table { get; set; }

    public string Column { get; set; } = "";

    public string Description { get; set; } = "";

    public string Unit { get; set; } = "";
}

internal sealed class CatalogContextConfiguration : IEntityTypeConfiguration<CatalogContext>
{
    public void Configure(EntityTypeBuilder<CatalogContext> builder)
    {
        builder.ToTable("catalog_contexts");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Name).HasMaxLength(64).IsRequired();
        builder.HasIndex(c => c.Name).IsUnique();
        builder.Property(c => c.Description).HasMaxLength(2000).IsRequired();
        builder.Property(c => c.Path).HasMaxLength(1024).IsRequired();
    }
}

internal sealed class CatalogDescriptionConfiguration : IEntityTypeConfiguration<CatalogDescription>
{
    public void Configure(EntityTypeBuilder<CatalogDescription> builder)
    {
        builder.ToTable("catalog_descriptions");
        builder.HasKey(d => d.Id);
        builder.HasOne<CatalogContext>().WithMany().HasForeignKey(d => d.ContextId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(d => d.Table).HasMaxLength(128).IsRequired();
        builder.Property(d => d.Column).HasMaxLength(128).IsRequired();
        builder.Property(d => d.Description).HasMaxLength(2000).IsRequired();
        builder.Property(d => d.Unit).HasMaxLength(64).IsRequired();
        builder.HasIndex(d => new { d.ContextId, d.Table, d.Column }).IsUnique();
    }
}
