using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using OpenSciServer.Accounts;

namespace OpenSciServer.Infrastructure;

/// <summary>
/// The platform's metadata. Each feature keeps its entity configurations in its own folder; they are
/// picked up by <see cref="ModelBuilder.ApplyConfigurationsFromAssembly"/>.
///
/// Two providers, two migration sets (one derived context each, so the snapshots never mix). Add a
/// migration for both from the repository root:
/// <code>
/// dotnet tool restore
/// dotnet ef migrations add NAME -p src/OpenSciServer -c SqlitePlatformDbContext -o Infrastructure/Migrations/Sqlite
/// dotnet ef migrations add NAME -p src/OpenSciServer -c PostgresPlatformDbContext -o Infrastructure/Migrations/Postgres
/// </code>
/// </summary>
public abstract class PlatformDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();

    public DbSet<AccessToken> AccessTokens => Set<AccessToken>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(PlatformDbContext).Assembly);
    }
}

public sealed class SqlitePlatformDbContext(DbContextOptions<SqlitePlatformDbContext> options) : PlatformDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        // SQLite has no date type: store instants as sortable integers so ORDER BY and comparisons
        // run in the database, not in memory.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

public sealed class PostgresPlatformDbContext(DbContextOptions<PostgresPlatformDbContext> options) : PlatformDbContext(options);

/// <summary>Lets <c>dotnet ef</c> build the SQLite model without starting the host.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqlitePlatformDbContext>
{
    public SqlitePlatformDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqlitePlatformDbContext>().UseSqlite("Data Source=design.db").Options);
}

/// <summary>Lets <c>dotnet ef</c> build the PostgreSQL model without a server.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresPlatformDbContext>
{
    public PostgresPlatformDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresPlatformDbContext>().UseNpgsql("Host=localhost;Database=design").Options);
}
