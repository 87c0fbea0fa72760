using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Groups;

public static class GroupsSetup
{
    public static void AddGroups(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddScoped<GroupDirectory>();
        builder.Services.AddScoped<GroupService>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, GroupInvitationCount>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, OwnedGroupCount>());
    }

    /// <summary>Creates the system groups <c>public</c> (every user) and <c>admin</c> (site admins) once.</summary>
    public static async Task SeedGroupsAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        foreach (var (name, description) in new[]
        {
            (GroupNames.Public, "Every user of this server. Share with it to share with everyone."),
            (GroupNames.Admin, "The site administrators."),
        })
        {
            if (!await db.Set<Group>().AnyAsync(g => g.NormalizedName == name))
            {
                db.Set<Group>().Add(new Group { Name = name, NormalizedName = name, Description = description, Accessibility = GroupAccessibility.System, CreatedAt = time.GetUtcNow() });
            }
        }

        await db.SaveChangesAsync();
    }

    private sealed class GroupInvitationCount(GroupService groups) : IActivityCount
    {
        public string Key => ActivityKeys.GroupInvitations;

        public Task<int> CountAsync(Guid userId, CancellationToken cancellationToken) => groups.CountInvitationsAsync(userId, cancellationToken);
    }

    private sealed class OwnedGroupCount(GroupService groups) : IActivityCount
    {
        public string Key => ActivityKeys.GroupsOwned;

        public Task<int> CountAsync(Guid userId, CancellationToken cancellationToken) => groups.CountOwnedAsync(userId, cancellationToken);
    }
}
