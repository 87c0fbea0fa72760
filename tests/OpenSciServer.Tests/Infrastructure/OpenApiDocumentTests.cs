using System.Text.Json;
using System.Text.Json.Nodes;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>
/// The API's OpenAPI document is checked in (docs/api/openapi.v1.json), so every API change shows in a
/// diff. After an intended change, refresh it with: OSS_UPDATE_OPENAPI=1 ./test.sh --filter OpenApiDocument
/// </summary>
public sealed class OpenApiDocumentTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task OpenApiDocument_MatchesTheCheckedInCopy()
    {
        var served = JsonNode.Parse(await platform.CreateApiClient().GetStringAsync("/openapi/v1.json"))!;
        // The version is the build's git describe: it changes with every commit.
        served["info"]!["version"] = "(build version)";
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        var path = Path.Combine(RepositoryRoot(), "docs", "api", "openapi.v1.json");

        if (Environment.GetEnvironmentVariable("OSS_UPDATE_OPENAPI") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text);
        }

        Assert.True(File.Exists(path), $"{path} is missing; create it with OSS_UPDATE_OPENAPI=1 ./test.sh --filter OpenApiDocument");
        var checkedIn = await File.ReadAllTextAsync(path);
        Assert.True(checkedIn == text, "The API changed: review the difference and refresh docs/api/openapi.v1.json with OSS_UPDATE_OPENAPI=1 ./test.sh --filter OpenApiDocument");
    }

    [Fact]
    public async Task OpenApiDocument_EveryOperationHasANameAndSummary()
    {
        using var doc = JsonDocument.Parse(await platform.CreateApiClient().GetStringAsync("/openapi/v1.json"));

        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                Assert.True(operation.Value.TryGetProperty("operationId", out _), $"{operation.Name} {path.Name} has no operationId (.WithName)");
                Assert.True(operation.Value.TryGetProperty("summary", out _), $"{operation.Name} {path.Name} has no summary (.WithSummary)");
            }
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OpenSciServer.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Run the tests inside the repository.");
    }
}
