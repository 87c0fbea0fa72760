using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OpenSciServer.Tests.Jobs;

/// <summary>What the job tests do through the native API.</summary>
public static class Jobs
{
    public const string Domain = "Local";
    public const string Image = "Python 3 (astro)";

    public static object Command(string command, string? timeLimit = null, string? workingDirectory = null, object? userVolumes = null, string[]? dataVolumes = null,
        string domain = Domain, string image = Image, string? name = null) =>
        new { kind = "command", command, domain, image, timeLimit, workingDirectory, userVolumes = userVolumes ?? Array.Empty<object>(), dataVolumes = dataVolumes ?? [], name };

    public static async Task<long> SubmitAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/jobs", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    public static async Task<JsonElement> DetailsAsync(HttpClient client, long id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{id}");

    /// <summary>Polls until the job reaches <paramref name="status"/> (any final status fails the wait if it is not the one).</summary>
    public static async Task<JsonElement> WaitAsync(HttpClient client, long id, string status, int seconds = 60)
    {
        JsonElement details = default;
        for (var i = 0; i < seconds * 10; i++)
        {
            details = await DetailsAsync(client, id);
            var job = details.GetProperty("job");
            var now = job.GetProperty("status").GetString();
            if (now == status)
            {
                return details;
            }

            Assert.False(job.GetProperty("final").GetBoolean(), $"job {id} ended as {now}, not {status}: {details}");
            await Task.Delay(100);
        }

        Assert.Fail($"job {id} did not become {status}: {details}");
        return details;
    }

    public static string Stdout(JsonElement details) => details.GetProperty("stdout").GetProperty("text").GetString()!;

    public static string Stderr(JsonElement details) => details.GetProperty("stderr").GetProperty("text").GetString()!;

    public static async Task AssertProblemAsync(HttpResponseMessage response, int status, string contains)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Contains(contains, body, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The job directory on the machine, from the job's Files path.</summary>
    public static string Folder(string dataDirectory, JsonElement job) =>
        Path.Combine(dataDirectory, "volumes", job.GetProperty("folder").GetString()!);
}
