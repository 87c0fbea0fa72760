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

    public DateTimeOffset CreatedAt { get; set; }
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
