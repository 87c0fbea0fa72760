using OpenSciServer.Groups;

namespace OpenSciServer.Web.Pages.Groups;

/// <summary>Words the group pages share, so a role or a choice reads the same everywhere.</summary>
internal static class GroupUi
{
    public const string PrivateExplanation = "Invitation only. Outsiders do not see the group, its members or what is shared with it.";

    public const string PublicExplanation = "Listed for everyone on this server; anyone can join as a member. What is shared with the group is visible to its members only.";

    public static string RoleName(GroupRole role) => role switch
    {
        GroupRole.Owner => "owner",
        GroupRole.Admin => "admin",
        GroupRole.Member => "member",
    };

    /// <summary>"an owner", "an admin", "a member".</summary>
    public static string WithArticle(GroupRole role) => role == GroupRole.Member ? "a member" : "an " + RoleName(role);

    /// <summary>Parses a role from a button value; letters only, so "2" or "Owner,Admin" are no role.</summary>
    public static GroupRole? ParseRole(string? text) => text?.ToLowerInvariant() switch
    {
        "owner" => GroupRole.Owner,
        "admin" => GroupRole.Admin,
        "member" => GroupRole.Member,
        _ => null,
    };
}
