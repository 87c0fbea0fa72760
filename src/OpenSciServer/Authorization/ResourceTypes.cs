namespace OpenSciServer.Authorization;

/// <summary>What may be done to a resource. Each resource type allows a subset (see <see cref="ResourceTypes"/>).</summary>
[Flags]
public enum ResourceActions
{
    None = 0,
    Read = 1,
    Write = 2,
    Delete = 4,
    Grant = 8,
    Query = 16,
    Update = 32,
    Use = 64,
}

/// <summary>A kind of resource and the actions it defines (SciServer RACM's resource types).</summary>
public sealed record ResourceType(string Name, string DisplayName, ResourceActions Actions);

/// <summary>The resource types every feature uses; a type not listed here cannot be registered.</summary>
public static class ResourceTypes
{
    public static readonly ResourceType UserVolume = new("user-volume", "User volume", ResourceActions.Read | ResourceActions.Write | ResourceActions.Delete | ResourceActions.Grant);
    public static readonly ResourceType DataVolume = new("data-volume", "Data volume", ResourceActions.Read | ResourceActions.Write | ResourceActions.Grant);
    public static readonly ResourceType DatabaseContext = new("database-context", "Catalog context", ResourceActions.Query | ResourceActions.Update | ResourceActions.Grant);
    public static readonly ResourceType MyDbTable = new("mydb-table", "MyDB table", ResourceActions.Read | ResourceActions.Grant);
    public static readonly ResourceType ComputeDomain = new("compute-domain", "Compute domain", ResourceActions.Use | ResourceActions.Grant);
    public static readonly ResourceType ComputeImage = new("compute-image", "Compute image", ResourceActions.Use | ResourceActions.Grant);

    public static readonly IReadOnlyDictionary<string, ResourceType> All =
        new[] { UserVolume, DataVolume, DatabaseContext, MyDbTable, ComputeDomain, ComputeImage }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public static ResourceType Get(string name) =>
        All.TryGetValue(name, out var type) ? type : throw new ArgumentException($"Unknown resource type '{name}'.", nameof(name));

    /// <summary>Lower-case action names, as SciServer's JSON writes them ("read", "write", ...).</summary>
    public static IReadOnlyList<string> Names(ResourceActions actions) =>
        Enum.GetValues<ResourceActions>().Where(a => a != ResourceActions.None && actions.HasFlag(a))
            .Select(a => a.ToString().ToLowerInvariant()).ToList();

    /// <summary>Parses action names case-insensitively; unknown names, or names the type does not define, are an error.</summary>
    public static ResourceActions Parse(ResourceType type, IEnumerable<string>? names)
    {
        ArgumentNullException.ThrowIfNull(type);
        var result = ResourceActions.None;
        foreach (var name in names ?? [])
        {
            // Letters only: Enum.TryParse would also take "3" or "read,write".
            if (string.IsNullOrEmpty(name) || !name.All(char.IsAsciiLetter)
                || !Enum.TryParse<ResourceActions>(name, ignoreCase: true, out var action) || action == ResourceActions.None
                || !type.Actions.HasFlag(action))
            {
                throw Infrastructure.PlatformException.Invalid(
                    $"'{name}' is not an action on a {type.DisplayName.ToLowerInvariant()}; use {string.Join(", ", Names(type.Actions))}.", "actions");
            }

            result |= action;
        }

        return result;
    }
}
