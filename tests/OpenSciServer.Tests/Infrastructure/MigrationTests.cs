using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>Both migration sets are complete: the model has no change that a migration lacks.</summary>
public abstract class MigrationTests(PlatformFactory platform)
{
    [Fact]
    public async Task Model_HasNoChangesMissingFromTheMigrations()
    {
        await using var scope = platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();

        Assert.False(db.Database.HasPendingModelChanges(),
            "The EF model changed without a migration: add one for both providers (see the comment on PlatformDbContext).");
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
    }
}

public sealed class SqliteMigrationTests(SqlitePlatform platform) : MigrationTests(platform), IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task Provider_IsSqlite()
    {
        await using var scope = platform.Services.CreateAsyncScope();
        Assert.True(scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Database.IsSqlite());
    }
}

public sealed class PostgresMigrationTests(PostgresPlatform platform) : MigrationTests(platform), IClassFixture<PostgresPlatform>
{
    [Fact]
    public async Task Provider_IsPostgres()
    {
        await using var scope = platform.Services.CreateAsyncScope();
        Assert.True(scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Database.IsNpgsql());
    }
}
