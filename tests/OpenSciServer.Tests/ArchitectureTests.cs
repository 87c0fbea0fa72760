using NetArchTest.Rules;

namespace OpenSciServer.Tests;

/// <summary>The boundaries of ARCHITECTURE.md and STYLE.md, stated so a later change cannot quietly erode them.</summary>
public sealed class ArchitectureTests
{
    private static readonly Types Platform = Types.InAssembly(typeof(Program).Assembly);

    [Theory]
    [InlineData("OpenSciServer.Web")]
    [InlineData("OpenSciServer.Compat")]
    [InlineData("OpenSciServer.Infrastructure")]
    [InlineData("OpenSciServer.Accounts")]
    [InlineData("OpenSciServer.Authorization")]
    [InlineData("OpenSciServer.Groups")]
    public void Namespaces_TheRulesSpeakOf_HoldTypes(string ns) =>
        Assert.NotEmpty(Platform.That().ResideInNamespaceStartingWith(ns).GetTypes());

    [Fact]
    public void Web_CallsServices_NotTheDatabase()
    {
        var result = Platform.That().ResideInNamespaceStartingWith("OpenSciServer.Web")
            .ShouldNot().HaveDependencyOnAny("Microsoft.EntityFrameworkCore", "OpenSciServer.Infrastructure.PlatformDbContext")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Compat_AdaptsServices_WithoutTheirOwnDataAccess()
    {
        var result = Platform.That().ResideInNamespaceStartingWith("OpenSciServer.Compat")
            .ShouldNot().HaveDependencyOnAny("Microsoft.EntityFrameworkCore", "OpenSciServer.Infrastructure.PlatformDbContext")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Infrastructure_DependsOnNoFeatureButThroughTheDbContext()
    {
        // Plumbing serves the features; only the DbContext (which lists every feature's sets) may name them.
        var result = Platform.That().ResideInNamespaceStartingWith("OpenSciServer.Infrastructure")
            .And().DoNotHaveNameMatching("PlatformDbContext|Migrations|Initial|Snapshot|DesignTimeFactory")
            .And().DoNotResideInNamespaceStartingWith("OpenSciServer.Infrastructure.Migrations")
            .ShouldNot().HaveDependencyOnAny("OpenSciServer.Accounts", "OpenSciServer.Web", "OpenSciServer.Compat", "OpenSciServer.Groups", "OpenSciServer.Authorization")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Authorization_AsksGroupsThroughTheirServices_NotTheirMembershipRows()
    {
        var result = Platform.That().ResideInNamespaceStartingWith("OpenSciServer.Authorization")
            .ShouldNot().HaveDependencyOnAny("OpenSciServer.Groups.GroupMember", "OpenSciServer.Groups.GroupEvent")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Groups_ChangePrivilegesThroughTheAccessService_NotTheRows()
    {
        var result = Platform.That().ResideInNamespaceStartingWith("OpenSciServer.Groups")
            .ShouldNot().HaveDependencyOnAny("OpenSciServer.Authorization.Privilege")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Services_AreSealed()
    {
        var result = Platform.That().HaveNameEndingWith("Service").And().AreClasses()
            .Should().BeSealed().GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
    }

    [Fact]
    public void Astro_IsAPureLibrary_WithoutAspNetOrHostTypes()
    {
        // The astronomy library must stay usable from a worker process or a notebook: no web stack, no platform.
        var astro = typeof(OpenSciServer.Astro.SkyAngles).Assembly;
        var result = Types.InAssembly(astro)
            .ShouldNot().HaveDependencyOnAny(
                "Microsoft.AspNetCore", "Microsoft.EntityFrameworkCore", "Microsoft.Extensions",
                "OpenSciServer.Web", "OpenSciServer.Compat", "OpenSciServer.Infrastructure", "OpenSciServer.Accounts",
                "OpenSciServer.Authorization", "OpenSciServer.Groups", "OpenSciServer.Files", "OpenSciServer.CasJobs",
                "OpenSciServer.Compute", "OpenSciServer.Jobs")
            .GetResult();

        Assert.True(result.IsSuccessful, Describe(result));
        Assert.DoesNotContain(astro.GetReferencedAssemblies(), a =>
            a.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || a.Name == typeof(Program).Assembly.GetName().Name);
    }

    private static string Describe(TestResult result) =>
        "Offending types: " + string.Join(", ", result.FailingTypeNames ?? []);
}
