using System.Net;
using System.Net.Http.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Groups;

/// <summary>
/// Every group action tried by every kind of person, on a private group: owner, group admin, member,
/// invitee, outsider and site admin. A refusal changes nothing; an outsider cannot tell a private group
/// from one that does not exist.
/// </summary>
public abstract class GroupPermissionMatrixTests(PlatformFactory platform)
{
    // Expected statuses per actor: owner, admin, member, invited, outsider, siteadmin.
    public static TheoryData<string, string, int> Matrix()
    {
        var rows = new (string Action, int[] Expected)[]
        {
            ("view", [200, 200, 200, 200, 404, 200]),
            ("rename", [200, 200, 403, 403, 404, 200]),
            ("delete", [204, 403, 403, 403, 404, 204]),
            ("invite", [200, 200, 403, 403, 404, 200]),
            ("invite-as-owner", [200, 403, 403, 403, 404, 200]),
            ("withdraw", [200, 200, 403, 403, 404, 200]),
            ("promote-member", [200, 200, 403, 403, 404, 200]),
            ("demote-admin", [200, 400, 403, 403, 404, 200]), // the admin may not change their own role
            ("make-owner", [200, 403, 403, 403, 404, 200]),
            ("demote-owner", [400, 403, 403, 403, 404, 400]), // the last owner keeps the role
            ("remove-member", [200, 200, 403, 403, 404, 200]),
            ("remove-owner", [400, 403, 403, 403, 404, 400]),
            ("activity", [200, 200, 403, 403, 404, 200]),
            ("shared-resources", [200, 200, 200, 200, 404, 200]),
            ("accept", [404, 404, 404, 200, 404, 404]),
            ("decline", [404, 404, 404, 204, 404, 404]),
            ("leave", [400, 204, 204, 400, 404, 400]), // the last owner must hand over first
            ("join", [409, 409, 409, 200, 404, 404]),
        };
        var actors = new[] { "owner", "admin", "member", "invited", "outsider", "siteadmin" };
        var data = new TheoryData<string, string, int>();
        foreach (var (action, expected) in rows)
        {
            for (var i = 0; i < actors.Length; i++)
            {
                data.Add(action, actors[i], expected[i]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task GroupAction_ByEachKindOfPerson_IsAllowedOrRefusedAsTheRulesSay(string action, string actor, int expected)
    {
        var world = await GroupWorld.ForAsync(platform);
        var id = await world.CreateGroupAsync();
        var before = await world.SnapshotAsync(id);
        var client = world[actor].Client;

        var response = action switch
        {
            "view" => await client.GetAsync($"/api/groups/{id}"),
            "rename" => await client.PatchAsJsonAsync($"/api/groups/{id}", new { name = "Renamed " + Guid.NewGuid().ToString("N")[..8] }),
            "delete" => await client.DeleteAsync($"/api/groups/{id}"),
            "invite" => await client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = world["spare"].Name }),
            "invite-as-owner" => await client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = world["spare"].Name, role = "Owner" }),
            "withdraw" => await client.DeleteAsync($"/api/groups/{id}/invitations/{world["invited"].Id}"),
            "promote-member" => await client.PutAsJsonAsync($"/api/groups/{id}/members/{world["member2"].Id}/role", new { role = "Admin" }),
            "demote-admin" => await client.PutAsJsonAsync($"/api/groups/{id}/members/{world["admin"].Id}/role", new { role = "Member" }),
            "make-owner" => await client.PutAsJsonAsync($"/api/groups/{id}/members/{world["member2"].Id}/role", new { role = "Owner" }),
            "demote-owner" => await client.PutAsJsonAsync($"/api/groups/{id}/members/{world["owner"].Id}/role", new { role = "Member" }),
            "remove-member" => await client.DeleteAsync($"/api/groups/{id}/members/{world["member2"].Id}"),
            "remove-owner" => await client.DeleteAsync($"/api/groups/{id}/members/{world["owner"].Id}"),
            "activity" => await client.GetAsync($"/api/groups/{id}/activity"),
            "shared-resources" => await client.GetAsync($"/api/groups/{id}/resources"),
            "accept" => await client.PostAsync($"/api/groups/{id}/accept", null),
            "decline" => await client.PostAsync($"/api/groups/{id}/decline", null),
            "leave" => await client.PostAsync($"/api/groups/{id}/leave", null),
            "join" => await client.PostAsync($"/api/groups/{id}/join", null),
            _ => throw new ArgumentOutOfRangeException(nameof(action)),
        };

        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expected, $"{actor} {action}: expected {expected}, got {(int)response.StatusCode} {body}");
        if (expected >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(before, await world.SnapshotAsync(id));
        }

        if (actor == "outsider")
        {
            // The same answer as for a group that never existed.
            var missing = await client.GetAsync("/api/groups/987654321");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal((await missing.Content.ReadAsStringAsync()).Split("\"traceId\"")[0], body.Split("\"traceId\"")[0]);
        }
    }
}

public sealed class GroupPermissionMatrixSqliteTests(SqlitePlatform platform) : GroupPermissionMatrixTests(platform), IClassFixture<SqlitePlatform>;

public sealed class GroupPermissionMatrixPostgresTests(PostgresPlatform platform) : GroupPermissionMatrixTests(platform), IClassFixture<PostgresPlatform>;
